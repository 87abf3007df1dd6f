//go:build vm

package vmecmp

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(netlab.Main(m))
}

// Lab addresses: 10.251.0.0/24 is the directors' segment (the router .1, the
// directors .11-.13, the real servers .21-.23), the VIP is 10.251.9.1.
var (
	lanNet  = netip.MustParsePrefix("10.251.0.0/24")
	vip     = netip.MustParseAddr("10.251.9.1")
	vip32   = netip.PrefixFrom(vip, 32)
	rsAddrs = []string{"10.251.0.21", "10.251.0.22", "10.251.0.23"}
)

const svcPort = 80

// connKey is a flow as IPVS records it: client address and port.
type connKey struct {
	addr netip.Addr
	port uint16
}

// ipvsConns reads /proc/net/ip_vs_conn in n and returns, for every TCP
// connection to the VIP, the real server it was scheduled to. Format
// (ip_vs_conn_seq_show):
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires
//	TCP 0AFB0064 4E20 0AFB0901 0050 0AFB0015 0050 SYN_RECV         59
func ipvsConns(n *netlab.Node) (map[connKey]netip.Addr, error) {
	return readConns(n, "ip_vs_conn", 8, func([]string) bool { return true })
}

// readConns reads /proc/net/<file> (ip_vs_conn or ip_vs_conn_sync, whose
// first columns are the same) in n and returns the real server of every TCP
// connection to the VIP on a line of at least minFields fields that keep accepts.
func readConns(n *netlab.Node, file string, minFields int, keep func(f []string) bool) (map[connKey]netip.Addr, error) {
	var b []byte
	err := n.Do(func() (err error) {
		// /proc/net follows the thread group leader; thread-self follows this thread.
		b, err = os.ReadFile("/proc/thread-self/net/" + file)
		return err
	})
	if err != nil {
		return nil, err
	}
	to := hexAddr(vip)
	out := map[connKey]netip.Addr{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < minFields || f[0] != "TCP" || f[3] != to || !keep(f) {
			continue
		}
		from, err1 := parseHexAddr(f[1])
		port, err2 := strconv.ParseUint(f[2], 16, 16)
		dest, err3 := parseHexAddr(f[5])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s line %q: bad field", file, line)
		}
		out[connKey{from, uint16(port)}] = dest
	}
	return out, nil
}

func hexAddr(a netip.Addr) string { return strings.ToUpper(fmt.Sprintf("%08x", a.AsSlice())) }

func parseHexAddr(s string) (netip.Addr, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, err
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// routeVIP points n's route to the VIP at gw (replacing the previous one).
func routeVIP(t testing.TB, n *netlab.Node, gw netip.Addr) {
	t.Helper()
	link, err := n.Handle().LinkByName(n.IfName())
	if err == nil {
		err = n.Handle().RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index,
			Dst: &net.IPNet{IP: vip.AsSlice(), Mask: net.CIDRMask(32, 32)}, Gw: gw.AsSlice()})
	}
	if err != nil {
		t.Fatalf("%s: route %v via %v: %v", n.Name(), vip, gw, err)
	}
}

// sendSYNs opens a non-blocking connection to the VIP from every key's address
// and port (one SYN each) in n, and returns a function closing them (a socket
// closed in SYN_SENT sends nothing).
func sendSYNs(n *netlab.Node, keys []connKey) (closeAll func(), err error) {
	var fds []int
	closeAll = func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	err = n.Do(func() error {
		for _, k := range keys {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return err
			}
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: k.addr.As4(), Port: int(k.port)}); err != nil {
				return fmt.Errorf("bind %v:%d: %w", k.addr, k.port, err)
			}
			err = unix.Connect(fd, &unix.SockaddrInet4{Addr: vip.As4(), Port: svcPort})
			if err != nil && err != unix.EINPROGRESS {
				return fmt.Errorf("connect from %v:%d: %w", k.addr, k.port, err)
			}
		}
		return nil
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	return closeAll, nil
}
