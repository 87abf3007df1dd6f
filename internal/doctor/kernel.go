package doctor

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/lvs-ha/lvs-ha/internal/realserver"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kernel is the [System] of the calling thread's network namespace (see
// [realserver.Kernel] for the threading rules).
type Kernel struct {
	rs *realserver.Kernel
	h  *netlink.Handle
	// Root is prepended to /proc and /lib/modules (tests); "" is the real system.
	Root string
	// Release is the kernel release ("": uname -r).
	Release string
	// Nft is the nft binary ("": nft from PATH; missing: no ruleset).
	Nft string
	// IptablesLegacySave and Ip6tablesLegacySave are the iptables-legacy-save
	// and ip6tables-legacy-save binaries ("": from PATH or sbin; missing: no
	// legacy rules).
	IptablesLegacySave, Ip6tablesLegacySave string
}

var _ System = (*Kernel)(nil)

// NewKernel opens netlink sockets in the calling thread's namespace.
func NewKernel() (*Kernel, error) {
	rs, err := realserver.NewKernel()
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		rs.Close()
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Kernel{rs: rs, h: h}, nil
}

// Close releases the sockets.
func (k *Kernel) Close() { k.rs.Close(); k.h.Close() }

// Sysctl implements [System].
func (k *Kernel) Sysctl(key string) (string, error) { return k.rs.ReadSysctl(key) }

// RealServer implements [System].
func (k *Kernel) RealServer(c realserver.Config) (realserver.State, error) { return k.rs.State(c) }

// Addrs implements [System].
func (k *Kernel) Addrs() (map[string][]netip.Prefix, error) {
	links, err := nldump.Retry(k.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	out := map[string][]netip.Prefix{}
	for _, l := range links {
		ps, err := nldump.Prefixes(k.h, l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", l.Attrs().Name, err)
		}
		out[l.Attrs().Name] = ps
	}
	return out, nil
}

// Ruleset implements [System].
func (k *Kernel) Ruleset() ([]byte, error) {
	nft := k.Nft
	if nft == "" {
		var err error
		if nft, err = exec.LookPath("nft"); err != nil {
			return nil, nil
		}
	}
	out, err := exec.Command(nft, "-j", "list", "ruleset").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("nft -j list ruleset: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("nft -j list ruleset: %w", err)
	}
	return out, nil
}

// LegacyRules implements [System]: iptables-legacy-save lists only the
// tables already loaded (it loads no module).
func (k *Kernel) LegacyRules() (v4, v6 []byte, err error) {
	save := func(bin, name string) ([]byte, error) {
		if bin == "" {
			if bin = lookSbin(name); bin == "" {
				return nil, nil
			}
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return nil, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(ee.Stderr)))
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
	if v4, err = save(k.IptablesLegacySave, "iptables-legacy-save"); err != nil {
		return nil, nil, err
	}
	if v6, err = save(k.Ip6tablesLegacySave, "ip6tables-legacy-save"); err != nil {
		return nil, nil, err
	}
	return v4, v6, nil
}

// lookSbin finds name on PATH or in the sbin directories (not on a non-root
// user's PATH); "" when it is nowhere.
func lookSbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if st, err := os.Stat(d + "/" + name); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return d + "/" + name
		}
	}
	return ""
}

// DefaultRoutes implements [System].
func (k *Kernel) DefaultRoutes() ([]DefaultRoute, error) {
	var out []DefaultRoute
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := nldump.Retry(func() ([]netlink.Route, error) {
			return k.h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		for _, r := range routes {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			if r.Type != 0 && r.Type != unix.RTN_UNICAST {
				continue // blackhole, unreachable...: no way out at all
			}
			d := DefaultRoute{Metric: r.Priority, V6: fam == netlink.FAMILY_V6}
			if l, err := k.h.LinkByIndex(r.LinkIndex); err == nil && r.LinkIndex != 0 {
				d.Dev = l.Attrs().Name
			}
			if a, ok := netip.AddrFromSlice(r.Gw); ok {
				d.Gateways = append(d.Gateways, a.Unmap())
			}
			for _, nh := range r.MultiPath {
				if a, ok := netip.AddrFromSlice(nh.Gw); ok {
					d.Gateways = append(d.Gateways, a.Unmap())
				}
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// Modules implements [System]: built in (modules.builtin), loaded (/proc/modules,
// or /proc/net/ip_vs for ip_vs itself) or loadable (modules.dep).
func (k *Kernel) Modules() (Modules, error) {
	m := Modules{Release: k.Release, Present: map[string]bool{}, Loadable: map[string]bool{}}
	if m.Release == "" {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return m, fmt.Errorf("uname: %w", err)
		}
		m.Release = unix.ByteSliceToString(u.Release[:])
	}
	if _, err := os.Stat(k.Root + "/proc/net/ip_vs"); err == nil {
		m.Present["ip_vs"] = true
	}
	if err := eachLine(k.Root+"/proc/modules", func(l string) {
		m.Present[strings.Fields(l)[0]] = true
	}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	dir := k.Root + "/lib/modules/" + m.Release
	if _, err := os.Stat(dir); err == nil {
		m.Tree = true
	}
	name := func(l string) string {
		f, _, _ := strings.Cut(l, ":")
		n := path.Base(strings.TrimSpace(f))
		n, _, _ = strings.Cut(n, ".ko")
		return strings.ReplaceAll(n, "-", "_")
	}
	for file, set := range map[string]map[string]bool{"modules.builtin": m.Present, "modules.dep": m.Loadable} {
		if err := eachLine(dir+"/"+file, func(l string) { set[name(l)] = true }); err != nil && !errors.Is(err, os.ErrNotExist) {
			return m, err
		}
	}
	return m, nil
}

func eachLine(file string, f func(string)) error {
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			f(l)
		}
	}
	return sc.Err()
}
