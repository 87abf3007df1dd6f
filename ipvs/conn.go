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
	var out []Connection
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || (line == 1 && strings.HasPrefix(text, "Pro ")) {
			continue
		}
		c, err := parseConnLine(text)
		if err != nil {
			return out, fmt.Errorf("ip_vs_conn line %d: %w", line, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("ip_vs_conn: %w", err)
	}
	return out, nil
}

func parseConnLine(s string) (Connection, error) {
	f := strings.Fields(s)
	if len(f) < 9 {
		return Connection{}, fmt.Errorf("%d fields, want at least 9", len(f))
	}
	c := Connection{Protocol: f[0], State: f[7]}
	var err error
	for i, dst := range []*netip.AddrPort{&c.Client, &c.Virtual, &c.Dest} {
		if *dst, err = parseConnAddrPort(f[1+2*i], f[2+2*i]); err != nil {
			return Connection{}, err
		}
	}
	exp, err := strconv.ParseUint(f[8], 10, 32)
	if err != nil {
		return Connection{}, fmt.Errorf("bad expires %q", f[8])
	}
	c.Expires = time.Duration(exp) * time.Second
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
