package doctor

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
)

// load parses a configuration written to a temporary file.
func load(t *testing.T, text string) *conf.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ds := conf.Load(f, conf.Options{})
	if ds.HasErrors() {
		t.Fatalf("config: %v", ds)
	}
	return cfg
}

// lab is a private namespace with a veth pair eth0/eth1 (up).
type lab struct {
	t  *testing.T
	ns *netns.NS
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{t: t, ns: netns.New(t)}
	l.do(func() error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth1"}); err != nil {
			return err
		}
		for _, n := range []string{"lo", "eth0", "eth1"} {
			link, err := netlink.LinkByName(n)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetUp(link); err != nil {
				return err
			}
		}
		return nil
	})
	return l
}

func (l *lab) do(f func() error) {
	l.t.Helper()
	if err := l.ns.Do(f); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) sysctl(key, val string) {
	l.t.Helper()
	l.do(func() error { return netns.WriteSysctl(key, val) })
}

// sh runs a command (ip, nft) inside the namespace.
func (l *lab) sh(args ...string) {
	l.t.Helper()
	l.do(func() error {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	})
}

func (l *lab) addr(dev, cidr string, add bool) {
	l.t.Helper()
	l.do(func() error {
		link, err := netlink.LinkByName(dev)
		if err != nil {
			return err
		}
		ip, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return err
		}
		n.IP = ip
		a := &netlink.Addr{IPNet: n}
		if add {
			return netlink.AddrAdd(link, a)
		}
		return netlink.AddrDel(link, a)
	})
}

// run opens a Kernel inside the namespace (tune adjusts it, may be nil), runs
// check on it and logs the findings.
func (l *lab) run(tune func(*Kernel), check func(*Kernel) ([]Finding, error)) []Finding {
	l.t.Helper()
	var out []Finding
	l.do(func() error {
		k, err := NewKernel()
		if err != nil {
			return err
		}
		defer k.Close()
		if tune != nil {
			tune(k)
		}
		out, err = check(k)
		return err
	})
	for _, f := range out {
		l.t.Log(f)
	}
	return out
}

// director runs the director checks inside the namespace and keeps the findings of check.
func (l *lab) director(cfg *conf.Config, o Options, check string) []Finding {
	l.t.Helper()
	return only(l.run(nil, func(k *Kernel) ([]Finding, error) { return Director(cfg, k, o) }), check)
}

func only(fs []Finding, check string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// want fails unless fs has n findings, each mentioning every substring.
func want(t *testing.T, fs []Finding, n int, subs ...string) {
	t.Helper()
	if len(fs) != n {
		t.Fatalf("got %d findings %v, want %d", len(fs), fs, n)
	}
	for _, f := range fs {
		for _, s := range subs {
			if !strings.Contains(f.String(), s) {
				t.Errorf("finding %q does not mention %q", f, s)
			}
		}
	}
}
