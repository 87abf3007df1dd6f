package ipvsadm

import (
	"net/netip"

	moby "github.com/moby/ipvs"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// dumpOrder wraps a kernel whose Table is sorted and restores the kernel's
// own dump order (hash-table order for services, list order for
// destinations), read with github.com/moby/ipvs. ipvsadm sorts that order
// with comparators that wrap around at 2^31, which is not a total order, so
// its output depends on the order the kernel dumps in.
type dumpOrder struct {
	ipvs.Kernel
}

func mobyAddr(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// Table implements ipvs.Kernel.
func (d dumpOrder) Table() (ipvs.Table, error) {
	t, err := d.Kernel.Table()
	if err != nil {
		return t, err
	}
	h, err := moby.New("")
	if err != nil {
		return t, nil // keep the sorted order
	}
	defer h.Close()
	svcs, err := h.GetServices()
	if err != nil {
		return t, nil
	}
	out := make([]ipvs.Service, 0, len(t.Services))
	used := make([]bool, len(t.Services))
	for _, ms := range svcs {
		k := ipvs.ServiceKey{Family: ipvs.Family(ms.AddressFamily), FWMark: ms.FWMark}
		if ms.FWMark == 0 {
			k.Protocol, k.Addr, k.Port = ipvs.Protocol(ms.Protocol), mobyAddr(ms.Address), ms.Port
		}
		for i := range t.Services {
			if used[i] || t.Services[i].Key != k {
				continue
			}
			used[i] = true
			s := t.Services[i]
			if mds, err := h.GetDestinations(ms); err == nil {
				s.Destinations = destOrder(s.Destinations, mds)
			}
			out = append(out, s)
			break
		}
	}
	for i := range t.Services {
		if !used[i] {
			out = append(out, t.Services[i])
		}
	}
	t.Services = out
	return t, nil
}

func destOrder(ds []ipvs.Destination, mds []*moby.Destination) []ipvs.Destination {
	out := make([]ipvs.Destination, 0, len(ds))
	used := make([]bool, len(ds))
	for _, md := range mds {
		a := mobyAddr(md.Address)
		for i := range ds {
			if !used[i] && ds[i].Addr == a && ds[i].Port == md.Port {
				used[i] = true
				out = append(out, ds[i])
				break
			}
		}
	}
	for i := range ds {
		if !used[i] {
			out = append(out, ds[i])
		}
	}
	return out
}
