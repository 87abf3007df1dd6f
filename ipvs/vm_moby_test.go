//go:build vm

package ipvs_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"

	moby "github.com/moby/ipvs"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// mobyTable is a table using every kind of service and destination lvs-ha
// programs: TCP/UDP/SCTP/fwmark in both families, port 0 with persistence
// and netmask, several schedulers and scheduler flags, every forwarding
// method, tunnel options, thresholds.
func mobyTable() ipvs.Table {
	return ipvs.Table{Services: []ipvs.Service{
		{Key: key(ipvs.TCP, "10.1.0.1:80"), Scheduler: "wrr", Destinations: []ipvs.Destination{
			{Addr: vip("10.1.1.1"), Port: 8080, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
			{Addr: vip("10.1.1.2"), Port: 80, Weight: 1, Method: ipvs.DR},
			{Addr: vip("127.0.0.1"), Port: 80, Weight: 2, Method: ipvs.Local},
		}},
		{Key: key(ipvs.TCP, "10.1.0.2:0"), Scheduler: "rr", Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: 24,
			Destinations: []ipvs.Destination{
				{Addr: vip("10.1.1.3"), Weight: 1, Method: ipvs.DR},
				{Addr: vip("10.1.1.4"), Weight: 65535, Method: ipvs.DR, UpperThreshold: 5000},
			}},
		{Key: key(ipvs.UDP, "[fd00:1::1]:53"), Scheduler: "sh", Flags: ipvs.FlagPersistent | ipvs.FlagSHPort | ipvs.FlagSHFallback,
			Timeout: 120, Netmask: 64, Destinations: []ipvs.Destination{
				{Addr: vip("fd00:1::2"), Port: 53, Weight: 5, Method: ipvs.Tunnel, TunType: ipvs.TunnelGUE, TunPort: 6080, TunFlags: ipvs.TunnelCsum},
				{Addr: vip("10.1.1.9"), Port: 53, Weight: 0, Method: ipvs.Tunnel}, // mixed family, drained
				{Addr: vip("fd00:1::3"), Port: 5353, Weight: 2, UpperThreshold: 70, LowerThreshold: 7},
			}},
		{Key: key(ipvs.UDP, "10.1.0.3:514"), Scheduler: "lc", Flags: ipvs.FlagOnePacket},
		{Key: ipvs.FWMarkKey(ipvs.FamilyIPv4, 7), Scheduler: "mh", Flags: ipvs.FlagPersistent | ipvs.FlagSched1, Timeout: 60, Netmask: 16,
			Destinations: []ipvs.Destination{
				{Addr: vip("10.1.1.5"), Weight: 2, Method: ipvs.DR},
				{Addr: vip("10.1.1.6"), Port: 25, Weight: 4},
			}},
		{Key: ipvs.FWMarkKey(ipvs.FamilyIPv6, 8), Scheduler: "sed", Destinations: []ipvs.Destination{
			{Addr: vip("fd00:1::7"), Weight: 1, Method: ipvs.Tunnel, TunType: ipvs.TunnelGRE, TunFlags: ipvs.TunnelCsum},
		}},
		{Key: key(ipvs.SCTP, "10.1.0.5:0"), Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 30, Destinations: []ipvs.Destination{
			{Addr: vip("10.1.1.8"), Weight: 1, Method: ipvs.DR},
		}},
		{Key: key(ipvs.SCTP, "[fd00:1::9]:3868"), Scheduler: "nq", Destinations: []ipvs.Destination{
			{Addr: vip("fd00:1::a"), Port: 3869, Weight: 9, UpperThreshold: 1, LowerThreshold: 1},
		}},
	}}
}

// mobyNetmask is IPVS_SVC_ATTR_NETMASK as moby/ipvs reads it: the raw
// attribute as a native-endian u32 (a network-order mask for IPv4, the
// prefix length for IPv6).
func mobyNetmask(f ipvs.Family, bits uint8) uint32 {
	if f == ipvs.FamilyIPv6 {
		return uint32(bits)
	}
	return binary.NativeEndian.Uint32(binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-bits)))
}

func mobyAddr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

// TestVMMobyReadsBack programs the table through lvs-ha's client and reads
// it back with github.com/moby/ipvs, an independent decoder: every service
// and destination must be there with the fields lvs-ha asked for, and lvs-ha's
// own Table must list them in the same (kernel) order as moby's dump.
func TestVMMobyReadsBack(t *testing.T) {
	n := newNetlink(t)
	desired := mobyTable()
	if ch, err := ipvs.Reconcile(context.Background(), n, desired, ipvs.ReconcileOptions{}); err != nil {
		t.Fatalf("Reconcile: %v (%v)", err, ch)
	}
	want, err := ipvs.Normalize(desired)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := n.Table()
	if err != nil {
		t.Fatal(err)
	}

	h, err := moby.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	msvcs, err := h.GetServices()
	if err != nil {
		t.Fatal(err)
	}
	if len(msvcs) != len(want.Services) || len(ours.Services) != len(want.Services) {
		t.Fatalf("moby reads %d services, lvs-ha %d, want %d", len(msvcs), len(ours.Services), len(want.Services))
	}
	for i, ms := range msvcs {
		k := ipvs.ServiceKey{Family: ipvs.Family(ms.AddressFamily), FWMark: ms.FWMark}
		if ms.FWMark == 0 {
			k.Protocol, k.Addr, k.Port = ipvs.Protocol(ms.Protocol), mobyAddr(ms.Address), ms.Port
		}
		if ours.Services[i].Key != k {
			t.Errorf("service %d: lvs-ha lists %s, moby %s (not the kernel's order)", i, ours.Services[i].Key, k)
		}
		w := want.Service(k)
		if w == nil {
			t.Errorf("moby reads unexpected service %s", k)
			continue
		}
		if ms.SchedName != w.Scheduler || ms.Flags&^uint32(ipvs.FlagHashed) != uint32(w.Flags) ||
			ms.Timeout != w.Timeout || ms.Netmask != mobyNetmask(k.Family, w.Netmask) {
			t.Errorf("service %s: moby reads sched %q flags %#x timeout %d netmask %#x; want %q %#x %d %#x",
				k, ms.SchedName, ms.Flags, ms.Timeout, ms.Netmask,
				w.Scheduler, uint32(w.Flags), w.Timeout, mobyNetmask(k.Family, w.Netmask))
		}
		mds, err := h.GetDestinations(ms)
		if err != nil {
			t.Fatalf("%s: GetDestinations: %v", k, err)
		}
		if len(mds) != len(w.Destinations) || len(ours.Services[i].Destinations) != len(w.Destinations) {
			t.Errorf("service %s: moby reads %d destinations, lvs-ha %d, want %d",
				k, len(mds), len(ours.Services[i].Destinations), len(w.Destinations))
			continue
		}
		for j, md := range mds {
			ap := netip.AddrPortFrom(mobyAddr(md.Address), md.Port)
			if got := ours.Services[i].Destinations[j].AddrPort(); got != ap {
				t.Errorf("service %s destination %d: lvs-ha lists %s, moby %s (not the kernel's order)", k, j, got, ap)
			}
			var wd *ipvs.Destination
			for x := range w.Destinations {
				if w.Destinations[x].AddrPort() == ap {
					wd = &w.Destinations[x]
				}
			}
			if wd == nil {
				t.Errorf("service %s: moby reads unexpected destination %s", k, ap)
				continue
			}
			if ipvs.Family(md.AddressFamily) != wd.Family() || md.Weight != int(wd.Weight) ||
				ipvs.Method(md.ConnectionFlags&7) != wd.Method ||
				md.UpperThreshold != wd.UpperThreshold || md.LowerThreshold != wd.LowerThreshold {
				t.Errorf("service %s destination %s: moby reads %+v, want %+v", k, ap, *md, *wd)
			}
		}
	}
}
