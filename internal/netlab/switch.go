package netlab

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// SwitchCommand is [Node.Command] for the switch namespace (bridge br0 and its
// ports), e.g. to filter frames on the bridge with `nft` (family bridge).
func (l *Lab) SwitchCommand(name string, args ...string) *exec.Cmd {
	exe, exeErr := selfExe()
	target := name
	var lookErr error
	if !strings.Contains(name, "/") {
		target, lookErr = exec.LookPath(name)
	}
	cmd := exec.Command(exe, append([]string{nsexecArg, l.sw.path(), target, name}, args...)...)
	if err := errors.Join(exeErr, lookErr); err != nil {
		cmd.Err = fmt.Errorf("netlab: %s: %w", name, err)
	}
	return cmd
}
