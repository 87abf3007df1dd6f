//go:build vm

package vmdoctor

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

const natConf = `virtual_server 192.0.2.100 80 {
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.11 80 {
    }
}
`

// finding is one element of doctor -json's array.
type finding struct {
	Check   string             `json:"check"`
	Pos     struct{ Line int } `json:"pos"`
	Problem string             `json:"problem"`
	Fix     string             `json:"fix"`
}

// doctor runs lvs-ha doctor -json -f cfg in n and returns its findings of
// check, with the exit code.
func doctor(t *testing.T, n *netlab.Node, cfg, check string) ([]finding, int) {
	t.Helper()
	return doctorArgs(t, n, check, "-f", cfg)
}

// doctorArgs runs lvs-ha doctor -json args... in n.
func doctorArgs(t *testing.T, n *netlab.Node, check string, args ...string) ([]finding, int) {
	t.Helper()
	cmd := n.Command(vmlab.LvsHABin, append([]string{"doctor", "-json"}, args...)...)
	out, err := cmd.Output()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("lvs-ha doctor: %v", err)
	}
	var all, fs []finding
	if err := json.Unmarshal(out, &all); err != nil {
		t.Fatalf("lvs-ha doctor -json: %v\n%s", err, out)
	}
	for _, f := range all {
		if f.Check == check {
			fs = append(fs, f)
		}
	}
	t.Logf("doctor %s: exit %d, %+v", check, code, fs)
	return fs, code
}

// TestDoctorVSConntrack: a NAT virtual server behind a firewall that matches
// on ct state needs net.ipv4.vs.conntrack=1; doctor says so with the fix,
// and is quiet once it is set.
func TestDoctorVSConntrack(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft not in the VM image: %v", err)
	}
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	cfg := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(cfg, []byte(natConf), 0o644); err != nil {
		t.Fatal(err)
	}
	nft := func(args ...string) {
		t.Helper()
		if out, err := dir.Command("nft", args...).CombinedOutput(); err != nil {
			t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	vmlab.Sysctl(t, dir, "net.ipv4.ip_forward", "1")
	vmlab.Sysctl(t, dir, "net.ipv4.vs.conntrack", "0")
	if fs, _ := doctor(t, dir, cfg, "vs-conntrack"); len(fs) != 0 {
		t.Errorf("no stateful firewall yet: %+v", fs)
	}
	nft("add table inet f")
	nft("add chain inet f forward { type filter hook forward priority 0; policy drop; }")
	nft("add rule inet f forward ct state established,related accept")
	fs, code := doctor(t, dir, cfg, "vs-conntrack")
	if len(fs) != 1 || code != 1 || !strings.Contains(fs[0].Problem, "net.ipv4.vs.conntrack=0") ||
		fs[0].Fix != "sysctl -w net.ipv4.vs.conntrack=1" || fs[0].Pos.Line != 1 {
		t.Errorf("with a ct state rule and vs.conntrack 0: exit %d, %+v", code, fs)
	}
	vmlab.Sysctl(t, dir, "net.ipv4.vs.conntrack", "1")
	if fs, _ := doctor(t, dir, cfg, "vs-conntrack"); len(fs) != 0 {
		t.Errorf("fixed (vs.conntrack 1): %+v", fs)
	}
}

// TestDoctorRealServerTUN: on an LVS-TUN real server (the host kernel has no
// ipip, the VM's has), reverse-path filtering on tunl0 drops the
// decapsulated packets; doctor -realserver -tun reports it with the fix, and
// is quiet once lvs-ha realserver -tun's setup has rp_filter off.
func TestDoctorRealServerTUN(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	lab := netlab.New(t, netlab.Options{})
	rs := lab.AddNode("rs", "192.0.2.11")
	const vip = "192.0.2.100"
	vmlab.RealServer(t, rs, "-tun", vip)
	if fs, code := doctorArgs(t, rs, "rs-rp-filter", "-realserver", "-tun", vip); len(fs) != 0 || code != 0 {
		t.Errorf("after lvs-ha realserver -tun: exit %d, %+v", code, fs)
	}
	vmlab.Sysctl(t, rs, "net.ipv4.conf.tunl0.rp_filter", "1")
	vmlab.Sysctl(t, rs, "net.ipv4.conf.all.rp_filter", "1")
	fs, code := doctorArgs(t, rs, "rs-rp-filter", "-realserver", "-tun", vip)
	if len(fs) == 0 || code != 1 || !strings.Contains(fs[0].Problem, "rp_filter=1") || !strings.Contains(fs[0].Fix, "rp_filter") {
		t.Errorf("rp_filter 1 on tunl0 and all: exit %d, %+v", code, fs)
	}
	vmlab.Sysctl(t, rs, "net.ipv4.conf.tunl0.rp_filter", "0")
	vmlab.Sysctl(t, rs, "net.ipv4.conf.all.rp_filter", "2")
	if fs, code := doctorArgs(t, rs, "rs-rp-filter", "-realserver", "-tun", vip); len(fs) != 0 || code != 0 {
		t.Errorf("fixed (tunl0 0, all 2): exit %d, %+v", code, fs)
	}
}
