package ipvsadm

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// Resolver maps host and service names, like ipvsadm's gethostbyname,
// getservbyname, gethostbyaddr and getservbyport calls.
type Resolver interface {
	// LookupHost4 returns the first IPv4 address of a host name.
	LookupHost4(name string) (netip.Addr, bool)
	// LookupPort returns the port of a service name for protocol p.
	LookupPort(name string, p ipvs.Protocol) (uint16, bool)
	// HostName returns the name of an address.
	HostName(a netip.Addr) (string, bool)
	// PortName returns the service name of a port for protocol p.
	PortName(port uint16, p ipvs.Protocol) (string, bool)
}

// NumericResolver knows no names.
type NumericResolver struct{}

var _ Resolver = NumericResolver{}

func (NumericResolver) LookupHost4(string) (netip.Addr, bool)           { return netip.Addr{}, false }
func (NumericResolver) LookupPort(string, ipvs.Protocol) (uint16, bool) { return 0, false }
func (NumericResolver) HostName(netip.Addr) (string, bool)              { return "", false }
func (NumericResolver) PortName(uint16, ipvs.Protocol) (string, bool)   { return "", false }

// Service is one /etc/services entry.
type Service struct {
	Name    string
	Port    uint16
	Proto   string // "tcp", "udp", "sctp"
	Aliases []string
}

// ParseServices parses /etc/services content; malformed lines are skipped.
func ParseServices(data []byte) []Service {
	var out []Service
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		portStr, proto, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			continue
		}
		out = append(out, Service{Name: f[0], Port: uint16(port), Proto: proto, Aliases: f[2:]})
	}
	return out
}

func protoName(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP:
		return "tcp"
	case ipvs.UDP:
		return "udp"
	case ipvs.SCTP:
		return "sctp"
	}
	return ""
}

// SystemResolver resolves with the system: /etc/services (ServicesFile) and
// the Go resolver (/etc/hosts, DNS) with a short timeout.
type SystemResolver struct {
	ServicesFile string // default /etc/services
	Timeout      time.Duration

	once     sync.Once
	services []Service
}

var _ Resolver = (*SystemResolver)(nil)

func (r *SystemResolver) load() []Service {
	r.once.Do(func() {
		f := r.ServicesFile
		if f == "" {
			f = "/etc/services"
		}
		if data, err := os.ReadFile(f); err == nil {
			r.services = ParseServices(data)
		}
	})
	return r.services
}

func (r *SystemResolver) ctx() (context.Context, context.CancelFunc) {
	t := r.Timeout
	if t == 0 {
		t = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// LookupHost4 implements Resolver.
func (r *SystemResolver) LookupHost4(name string) (netip.Addr, bool) {
	if name == "" {
		return netip.Addr{}, false
	}
	ctx, cancel := r.ctx()
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, false
	}
	return ips[0].Unmap(), true
}

// LookupPort implements Resolver.
func (r *SystemResolver) LookupPort(name string, p ipvs.Protocol) (uint16, bool) {
	pn := protoName(p)
	if pn == "" {
		return 0, false
	}
	for _, s := range r.load() {
		if s.Proto != pn {
			continue
		}
		if s.Name == name {
			return s.Port, true
		}
		for _, a := range s.Aliases {
			if a == name {
				return s.Port, true
			}
		}
	}
	return 0, false
}

// HostName implements Resolver.
func (r *SystemResolver) HostName(a netip.Addr) (string, bool) {
	ctx, cancel := r.ctx()
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, a.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

// PortName implements Resolver.
func (r *SystemResolver) PortName(port uint16, p ipvs.Protocol) (string, bool) {
	pn := protoName(p)
	if pn == "" {
		return "", false
	}
	for _, s := range r.load() {
		if s.Proto == pn && s.Port == port {
			return s.Name, true
		}
	}
	return "", false
}
