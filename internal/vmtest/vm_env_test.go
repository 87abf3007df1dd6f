//go:build vm

package vmtest_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// These tests check the VM test tier itself: what later VM tests rely on.

func TestVMModulesLoaded(t *testing.T) {
	vmtest.Require(t)
	want, err := os.ReadFile("/etc/vm/modules")
	if err != nil {
		t.Fatalf("module list: %v", err)
	}
	procModules, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(procModules))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			loaded[f[0]] = true
		}
	}
	for _, m := range []string{"ip_vs", "ip_vs_rr", "ip_vs_mh", "nf_conntrack", "veth", "bridge", "ipip", "nf_tables", "nft_ct", "macvlan"} {
		if !loaded[m] {
			t.Errorf("module %s not loaded", m)
		}
	}
	for _, f := range strings.Fields(string(want)) {
		name := strings.ReplaceAll(strings.TrimSuffix(path.Base(f), ".ko"), "-", "_")
		if !loaded[name] {
			t.Errorf("module %s (from /etc/vm/modules) not loaded", name)
		}
	}
}

func TestVMEnvironment(t *testing.T) {
	vmtest.Require(t)
	if os.Geteuid() != 0 {
		t.Errorf("euid = %d, want 0", os.Geteuid())
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(wd, "writable")
	if err != nil {
		t.Fatalf("work dir %s not writable: %v", wd, err)
	}
	f.Close()
	os.Remove(f.Name())
	if _, err := os.Stat("/var/run/netns"); err != nil {
		t.Errorf("/var/run/netns: %v", err)
	}
}

func TestVMTools(t *testing.T) {
	vmtest.Require(t)
	tests := []struct {
		args []string
		want string // substring of the combined output
	}{
		{[]string{"ipvsadm", "-Ln"}, "IP Virtual Server version"},
		{[]string{"nft", "list", "ruleset"}, ""},
		{[]string{"ip", "link", "show", "lo"}, "LOOPBACK"},
	}
	for _, tc := range tests {
		t.Run(tc.args[0], func(t *testing.T) {
			if _, err := exec.LookPath(tc.args[0]); err != nil {
				t.Skipf("%s not in the VM image (VM_TOOLS): %v", tc.args[0], err)
			}
			out, err := exec.Command(tc.args[0], tc.args[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("%s: output lacks %q:\n%s", strings.Join(tc.args, " "), tc.want, out)
			}
		})
	}
	t.Run("lvs-ha", func(t *testing.T) {
		fi, err := os.Stat("/usr/local/bin/lvs-ha")
		if err != nil {
			t.Skipf("lvs-ha not in the VM image (VM_SKIP_LVSHA=1?): %v", err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("/usr/local/bin/lvs-ha not executable: %v", fi.Mode())
		}
	})
}

func TestVMLinks(t *testing.T) {
	vmtest.Require(t)
	links := []netlink.Link{
		&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vmt-veth0"}, PeerName: "vmt-veth1"},
		&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vmt-br0"}},
		&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "vmt-dummy0"}},
	}
	for _, l := range links {
		t.Run(l.Type(), func(t *testing.T) {
			if err := netlink.LinkAdd(l); err != nil {
				t.Fatalf("LinkAdd %s (%s): %v", l.Attrs().Name, l.Type(), err)
			}
			defer netlink.LinkDel(l)
			got, err := netlink.LinkByName(l.Attrs().Name)
			if err != nil {
				t.Fatalf("LinkByName: %v", err)
			}
			if got.Type() != l.Type() {
				t.Errorf("type = %s, want %s", got.Type(), l.Type())
			}
			if err := netlink.LinkSetUp(got); err != nil {
				t.Errorf("LinkSetUp: %v", err)
			}
		})
	}
}
