package doctor_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/cli"
	"github.com/lvs-ha/lvs-ha/internal/doctor"
	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
)

// TestCommandNetns runs `lvs-ha doctor` itself in a namespace: exit 1 and the
// findings (text and -json) with a mistake, exit 0 once it is fixed.
func TestCommandNetns(t *testing.T) {
	ns := netns.New(t)
	do := func(f func() error) {
		t.Helper()
		if err := ns.Do(f); err != nil {
			t.Fatal(err)
		}
	}
	do(func() error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth1"})
	})
	sysctl := func(k, v string) { do(func() error { return netns.WriteSysctl(k, v) }) }
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(f, []byte(`vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.1.1.100/24
    }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	main := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := 0
		do(func() error {
			code = cli.Main(append([]string{"lvs-ha", "doctor", "-pid-file", filepath.Join(t.TempDir(), "none.pid"), "-f", f}, args...), &out, &errb)
			return nil
		})
		t.Logf("exit %d\n%s%s", code, out.String(), errb.String())
		return code, out.String()
	}
	sysctl("net.ipv4.conf.all.rp_filter", "0")
	sysctl("net.ipv4.conf.eth0.rp_filter", "1")
	if code, out := main(); code != cli.ExitFailure || !bytes.Contains([]byte(out), []byte(f+":1:15: [rp-filter]")) {
		t.Errorf("with rp_filter=1: exit %d, output %q", code, out)
	}
	code, out := main("-json")
	var fs []doctor.Finding
	if err := json.Unmarshal([]byte(out), &fs); err != nil || code != cli.ExitFailure || len(fs) != 1 || fs[0].Check != "rp-filter" || fs[0].Pos == nil || fs[0].Pos.Line != 1 {
		t.Errorf("-json: exit %d, %v, %+v", code, err, fs)
	}
	sysctl("net.ipv4.conf.eth0.rp_filter", "2")
	if code, out := main(); code != cli.ExitOK || out != "no problem found\n" {
		t.Errorf("fixed: exit %d, output %q", code, out)
	}
	if code, out := main("-json"); code != cli.ExitOK || out != "[]\n" {
		t.Errorf("fixed, -json: exit %d, output %q", code, out)
	}
}
