package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseConnections parses the kernel's /proc/net/ip_vs_conn:
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//	TCP 0A000001 8B3C 0A000064 0050 0A000002 0050 ESTABLISHED     899
//	TCP fd00:0000:0000:0000:0000:0000:0000:0001 8B3C ... 0050 SYN_RECV 59
//
// IPv4 addresses are 8 hex digits, IPv6 addresses colon-separated; ports are
// 4 hex digits; Expires is in seconds.
func ParseConnections(r io.Reader) ([]Connection, error) {
	return parseConnTable(r, "ip_vs_conn", parseConnLine)
}

// parseConnTable reads a connection table of /proc/net (ip_vs_conn,
// ip_vs_conn_sync): an optional "Pro ..." header, then one connection per
// line, parsed by line; errors name the file and line.
func parseConnTable[C any](r io.Reader, name string, line func(string) (C, error)) ([]C, error) {
	var out []C
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || (n == 1 && strings.HasPrefix(text, "Pro ")) {
			continue
		}
		c, err := line(text)
		if err != nil {
			return out, fmt.Errorf("%s line %d: %w", name, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// parseConnFields parses the fields every connection table has: protocol,
// client, virtual and destination address and port, state, and the
// expiry in seconds at f[exp].
func parseConnFields(f []string, exp int) (proto string, addrs [3]netip.AddrPort, state string, expires time.Duration, err error) {
	for i := range addrs {
		if addrs[i], err = parseConnAddrPort(f[1+2*i], f[2+2*i]); err != nil {
			return
		}
	}
	e, perr := strconv.ParseUint(f[exp], 10, 32)
	if perr != nil {
		err = fmt.Errorf("bad expires %q", f[exp])
		return
	}
	return f[0], addrs, f[7], time.Duration(e) * time.Second, nil
}

func parseConnLine(s string) (Connection, error) {
	f := strings.Fields(s)
	if len(f) < 9 {
		return Connection{}, fmt.Errorf("%d fields, want at least 9", len(f))
	}
	proto, a, state, exp, err := parseConnFields(f, 8)
	if err != nil {
		return Connection{}, err
	}
	c := Connection{Protocol: proto, Client: a[0], Virtual: a[1], Dest: a[2], State: state, Expires: exp}
	if len(f) > 9 {
		c.PEName = f[9]
	}
	if len(f) > 10 {
		c.PEData = strings.Join(f[10:], " ")
	}
	return c, nil
}

func parseConnAddrPort(addr, port string) (netip.AddrPort, error) {
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	var a netip.Addr
	if strings.Contains(addr, ":") {
		a, err = netip.ParseAddr(addr)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("bad IPv6 address %q", addr)
		}
	} else {
		if len(addr) != 8 {
			return netip.AddrPort{}, fmt.Errorf("bad IPv4 address %q", addr)
		}
		v, err := strconv.ParseUint(addr, 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad IPv4 address %q", addr)
		}
		a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}
