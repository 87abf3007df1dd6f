package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
)

const holdEnv = "NETLAB_TEST_HOLD"

// TestHoldLab is the child half of TestInterrupted: it builds a lab with running
// processes, reports it on stdout and waits to be signalled.
func TestHoldLab(t *testing.T) {
	if os.Getenv(holdEnv) == "" {
		t.Skip("helper of TestInterrupted")
	}
	lab := New(t, Options{})
	var pids []string
	for _, name := range []string{"a", "b"} {
		n := lab.AddNode(name)
		p := n.StartCmd(helper(n.Command(self(t)), "sleep"))
		pids = append(pids, strconv.Itoa(p.Pid()))
	}
	fmt.Printf("HOLDING %s %s\n", lab.Name(), strings.Join(pids, ","))
	select {}
}

// TestInterrupted checks that a test binary stopped by SIGINT tears its labs down,
// and that after SIGKILL its processes die with it and Sweep removes its namespaces.
func TestInterrupted(t *testing.T) {
	netns.RequireRoot(t)
	for _, tc := range []struct {
		sig      syscall.Signal
		wantCode int // exit code, or -1 for killed by the signal
		sweep    bool
	}{
		{syscall.SIGINT, 128 + int(syscall.SIGINT), false},
		{syscall.SIGTERM, 128 + int(syscall.SIGTERM), false},
		{syscall.SIGKILL, -1, true},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(self(t), "-test.run=^TestHoldLab$", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), holdEnv+"=1")
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			var prefix string
			var pids []int
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == "HOLDING" {
					prefix = f[1]
					for _, s := range strings.Split(f[2], ",") {
						pid, _ := strconv.Atoi(s)
						pids = append(pids, pid)
					}
					break
				}
			}
			if prefix == "" {
				t.Fatalf("child did not report its lab: %v", sc.Err())
			}
			go func() {
				for sc.Scan() { // drain
				}
			}()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.wantCode {
				t.Errorf("child exit: %v, want code %d", err, tc.wantCode)
			}
			// The child's processes die with it (teardown, or Pdeathsig after SIGKILL).
			err = WaitFor(waitLimit, func() (bool, error) {
				for _, pid := range pids {
					if alive(pid) {
						return false, nil
					}
				}
				return true, nil
			}, func() string { return fmt.Sprintf("processes %v to die", pids) })
			if err != nil {
				t.Error(err)
			}
			left, _ := filepath.Glob(filepath.Join(nsRunDir, prefix+"-*"))
			if tc.sweep {
				if len(left) == 0 {
					// Possible if a concurrent test binary swept first.
					t.Logf("no namespaces left after SIGKILL; nothing to sweep")
				}
				if _, err := Sweep(); err != nil {
					t.Fatal(err)
				}
				left, _ = filepath.Glob(filepath.Join(nsRunDir, prefix+"-*"))
			}
			if len(left) > 0 {
				t.Errorf("namespaces left: %v", left)
			}
		})
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
