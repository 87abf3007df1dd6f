package ipvsadm

import (
	"net/netip"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// vmDefaultTimeouts are the kernel's default IPVS timeouts.
var vmDefaultTimeouts = ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}

// goldenResolver resolves like the VM tier: /etc/hosts has localhost only,
// there is no DNS, and /etc/services is Debian's (testdata/services).
type goldenResolver struct{}

var goldenServices = &SystemResolver{ServicesFile: "testdata/services"}

func (goldenResolver) LookupHost4(name string) (netip.Addr, bool) {
	if name == "localhost" {
		return netip.MustParseAddr("127.0.0.1"), true
	}
	return netip.Addr{}, false
}

func (goldenResolver) LookupPort(name string, p ipvs.Protocol) (uint16, bool) {
	return goldenServices.LookupPort(name, p)
}

func (goldenResolver) HostName(a netip.Addr) (string, bool) {
	if a == netip.MustParseAddr("127.0.0.1") || a == netip.IPv6Loopback() {
		return "localhost", true
	}
	return "", false
}

func (goldenResolver) PortName(port uint16, p ipvs.Protocol) (string, bool) {
	return goldenServices.PortName(port, p)
}
