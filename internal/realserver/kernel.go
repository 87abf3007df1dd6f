package realserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoTunnel is wrapped when tunl0 cannot be created (no ipip support).
var ErrNoTunnel = errors.New("no ipip tunnel support")

// Kernel is the [System] of the network namespace the calling thread was in when
// [NewKernel] ran (netlink) and of the calling thread at each call (/proc/sys): use it
// from one thread, or from a process that never changes namespace.
type Kernel struct {
	h       *netlink.Handle
	procSys string // root of the sysctl tree, "/proc/sys"
}

var _ System = (*Kernel)(nil)

// NewKernel opens a netlink socket in the calling thread's network namespace.
func NewKernel() (*Kernel, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Kernel{h: h, procSys: "/proc/sys"}, nil
}

// Close releases the netlink socket.
func (k *Kernel) Close() { k.h.Close() }

func (k *Kernel) sysctlPath(key string) string {
	return k.procSys + "/" + strings.ReplaceAll(key, ".", "/")
}

// ReadSysctl returns the trimmed value of a dotted sysctl key.
func (k *Kernel) ReadSysctl(key string) (string, error) {
	b, err := os.ReadFile(k.sysctlPath(key))
	if err != nil {
		return "", fmt.Errorf("sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (k *Kernel) writeSysctl(key, value string) error {
	if err := os.WriteFile(k.sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// State implements [System].
func (k *Kernel) State(c Config) (State, error) {
	st := State{Sysctls: map[string]string{}}
	dev := c.Device()
	link, err := k.h.LinkByName(dev)
	var notFound netlink.LinkNotFoundError
	switch {
	case err == nil:
		if c.Mode == TUN {
			st.TunnelExists = true
			st.TunnelUp = link.Attrs().Flags&net.FlagUp != 0
		}
		if st.Addrs, err = k.addrs(link); err != nil {
			return st, err
		}
	case c.Mode == TUN && errors.As(err, &notFound):
	default:
		return st, fmt.Errorf("link %s: %w", dev, err)
	}
	for _, key := range c.SysctlKeys() {
		v, err := k.ReadSysctl(key)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return st, err
		}
		st.Sysctls[key] = v
	}
	return st, nil
}

func (k *Kernel) addrs(link netlink.Link) ([]netip.Prefix, error) {
	out, err := nldump.Prefixes(k.h, link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", link.Attrs().Name, err)
	}
	return out, nil
}

// Apply implements [System].
func (k *Kernel) Apply(ch Change) error {
	switch ch.Op {
	case CreateTunnel:
		// Adding a link of kind ipip loads the module, whose per-namespace init
		// creates tunl0 already: then this add fails with EEXIST, which is fine.
		err := k.h.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: ch.Dev}})
		switch {
		case err == nil, errors.Is(err, unix.EEXIST):
			return nil
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOENT):
			return fmt.Errorf("%w: %v", ErrNoTunnel, err)
		}
		return err
	case LinkUp:
		link, err := k.h.LinkByName(ch.Dev)
		if err != nil {
			return err
		}
		return k.h.LinkSetUp(link)
	case AddAddr, DelAddr:
		link, err := k.h.LinkByName(ch.Dev)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{
			IP:   ch.Prefix.Addr().AsSlice(),
			Mask: net.CIDRMask(ch.Prefix.Bits(), ch.Prefix.Addr().BitLen()),
		}}
		if ch.Op == DelAddr {
			return k.h.AddrDel(link, a)
		}
		return k.h.AddrAdd(link, a)
	case SetSysctl:
		return k.writeSysctl(ch.Key, ch.To)
	}
	return fmt.Errorf("unknown change op %d", ch.Op)
}
