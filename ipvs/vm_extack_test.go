//go:build vm

package ipvs

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// A command the kernel refuses in its attribute validation comes back with
// the kernel's extended-ACK text in the error.
func TestVMExtAckInError(t *testing.T) {
	vmtest.Require(t)
	n, err := NewNetlink()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// IPVS_CMD_ATTR_TIMEOUT_TCP is a u32: two bytes fail the policy.
	_, err = n.do(cmdSetConfig, set, "", func(ae *netlink.AttributeEncoder) { ae.Uint16(cmdAttrTimeoutTCP, 1) })
	var oe *OpError
	if !errors.As(err, &oe) || !errors.Is(err, unix.ERANGE) {
		t.Fatalf("err = %v, want ERANGE", err)
	}
	t.Logf("kernel: %v", err)
	if oe.Message == "" || !strings.Contains(err.Error(), oe.Message) {
		t.Errorf("no extended-ACK message in %q", err)
	}
	// The handle stays usable.
	if _, err := n.Timeouts(); err != nil {
		t.Errorf("Timeouts after the refused command: %v", err)
	}
}
