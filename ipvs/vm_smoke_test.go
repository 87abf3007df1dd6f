//go:build vm

package ipvs_test

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/moby/ipvs"

	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// newHandle opens an IPVS netlink handle in the current network namespace
// and flushes the IPVS table before and after the test.
func newHandle(t *testing.T) *ipvs.Handle {
	t.Helper()
	vmtest.Require(t)
	h, err := ipvs.New("")
	if err != nil {
		t.Fatalf("ipvs.New: %v", err)
	}
	if err := h.Flush(); err != nil {
		h.Close()
		t.Fatalf("Flush: %v (is ip_vs loaded?)", err)
	}
	t.Cleanup(func() {
		if err := h.Flush(); err != nil {
			t.Errorf("Flush at cleanup: %v", err)
		}
		h.Close()
	})
	return h
}

func sameService(a, b *ipvs.Service) bool {
	if a.AddressFamily != b.AddressFamily || a.FWMark != b.FWMark {
		return false
	}
	if a.FWMark != 0 {
		return true
	}
	return a.Protocol == b.Protocol && a.Port == b.Port && a.Address.Equal(b.Address)
}

func findService(t *testing.T, h *ipvs.Handle, want *ipvs.Service) *ipvs.Service {
	t.Helper()
	svcs, err := h.GetServices()
	if err != nil {
		t.Fatalf("GetServices: %v", err)
	}
	for _, s := range svcs {
		if sameService(s, want) {
			return s
		}
	}
	return nil
}

func svcString(s *ipvs.Service) string {
	if s.FWMark != 0 {
		return fmt.Sprintf("fwmark %d (af %d)", s.FWMark, s.AddressFamily)
	}
	return fmt.Sprintf("proto %d %s", s.Protocol, net.JoinHostPort(s.Address.String(), fmt.Sprint(s.Port)))
}

func TestSmokeServiceDestinationRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		svc   ipvs.Service
		dests []ipvs.Destination
	}{
		{
			name: "tcp4 rr",
			svc: ipvs.Service{
				AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP,
				Address: net.ParseIP("10.0.0.1").To4(), Port: 80,
				SchedName: ipvs.RoundRobin, Netmask: 0xffffffff,
			},
			dests: []ipvs.Destination{
				{Address: net.ParseIP("10.0.0.2").To4(), Port: 8080, Weight: 3, ConnectionFlags: ipvs.ConnectionFlagMasq},
				{Address: net.ParseIP("10.0.0.3").To4(), Port: 80, Weight: 1, ConnectionFlags: ipvs.ConnectionFlagDirectRoute},
			},
		},
		{
			name: "udp6 wrr",
			svc: ipvs.Service{
				AddressFamily: syscall.AF_INET6, Protocol: syscall.IPPROTO_UDP,
				Address: net.ParseIP("fd00::1"), Port: 53,
				SchedName: ipvs.WeightedRoundRobin, Netmask: 128,
			},
			dests: []ipvs.Destination{
				{Address: net.ParseIP("fd00::2"), Port: 53, Weight: 5, ConnectionFlags: ipvs.ConnectionFlagTunnel},
			},
		},
		{
			name: "fwmark4 wlc",
			svc: ipvs.Service{
				AddressFamily: syscall.AF_INET, FWMark: 7,
				SchedName: ipvs.WeightedLeastConnection, Netmask: 0xffffffff,
			},
			dests: []ipvs.Destination{
				{Address: net.ParseIP("10.0.0.4").To4(), Port: 0, Weight: 2, ConnectionFlags: ipvs.ConnectionFlagDirectRoute},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandle(t)
			svc := tc.svc
			if err := h.NewService(&svc); err != nil {
				t.Fatalf("NewService(%s): %v", svcString(&svc), err)
			}
			got := findService(t, h, &svc)
			if got == nil {
				t.Fatalf("service %s not in GetServices after NewService", svcString(&svc))
			}
			if got.SchedName != svc.SchedName {
				t.Errorf("SchedName = %q, want %q", got.SchedName, svc.SchedName)
			}
			if got.Netmask != svc.Netmask {
				t.Errorf("Netmask = %#x, want %#x", got.Netmask, svc.Netmask)
			}
			if !h.IsServicePresent(&svc) {
				t.Errorf("IsServicePresent(%s) = false", svcString(&svc))
			}

			for i := range tc.dests {
				d := tc.dests[i]
				if err := h.NewDestination(&svc, &d); err != nil {
					t.Fatalf("NewDestination(%s): %v", d.Address, err)
				}
			}
			assertDests(t, h, &svc, tc.dests)

			// Change a weight and read it back.
			upd := tc.dests[0]
			upd.Weight += 10
			if err := h.UpdateDestination(&svc, &upd); err != nil {
				t.Fatalf("UpdateDestination: %v", err)
			}
			want := append([]ipvs.Destination{upd}, tc.dests[1:]...)
			assertDests(t, h, &svc, want)

			for i := range want {
				if err := h.DelDestination(&svc, &want[i]); err != nil {
					t.Fatalf("DelDestination(%s): %v", want[i].Address, err)
				}
			}
			assertDests(t, h, &svc, nil)

			if err := h.DelService(&svc); err != nil {
				t.Fatalf("DelService: %v", err)
			}
			if got := findService(t, h, &svc); got != nil {
				t.Fatalf("service %s still present after DelService", svcString(got))
			}
		})
	}
}

func assertDests(t *testing.T, h *ipvs.Handle, svc *ipvs.Service, want []ipvs.Destination) {
	t.Helper()
	got, err := h.GetDestinations(svc)
	if err != nil {
		t.Fatalf("GetDestinations: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("GetDestinations: %d destinations, want %d", len(got), len(want))
	}
	for _, w := range want {
		var found *ipvs.Destination
		for _, g := range got {
			if g.Address.Equal(w.Address) {
				found = g
				break
			}
		}
		if found == nil {
			t.Errorf("destination %s missing", w.Address)
			continue
		}
		wantPort := w.Port
		if w.ConnectionFlags&ipvs.ConnFwdMask != ipvs.ConnFwdMasq && svc.FWMark == 0 {
			// DR and TUN real servers always use the virtual port.
			wantPort = svc.Port
		}
		if found.Port != wantPort {
			t.Errorf("destination %s: Port = %d, want %d", w.Address, found.Port, wantPort)
		}
		if found.Weight != w.Weight {
			t.Errorf("destination %s: Weight = %d, want %d", w.Address, found.Weight, w.Weight)
		}
		if gf, wf := found.ConnectionFlags&ipvs.ConnFwdMask, w.ConnectionFlags&ipvs.ConnFwdMask; gf != wf {
			t.Errorf("destination %s: forwarding = %#x, want %#x", w.Address, gf, wf)
		}
		if found.AddressFamily != svc.AddressFamily {
			t.Errorf("destination %s: AddressFamily = %d, want %d", w.Address, found.AddressFamily, svc.AddressFamily)
		}
	}
}

// TestSmokeSchedulers checks that the VM kernel has every IPVS scheduler
// keepalived's lb_algo accepts (twos only exists in newer kernels).
func TestSmokeSchedulers(t *testing.T) {
	scheds := []struct {
		name     string
		optional bool
	}{
		{"rr", false}, {"wrr", false}, {"lc", false}, {"wlc", false},
		{"lblc", false}, {"lblcr", false}, {"dh", false}, {"sh", false},
		{"sed", false}, {"nq", false}, {"fo", false}, {"ovf", false},
		{"mh", false}, {"twos", true},
	}
	h := newHandle(t)
	for i, s := range scheds {
		t.Run(s.name, func(t *testing.T) {
			svc := ipvs.Service{
				AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP,
				Address: net.IPv4(10, 0, 1, byte(i+1)).To4(), Port: 80,
				SchedName: s.name, Netmask: 0xffffffff,
			}
			if err := h.NewService(&svc); err != nil {
				if s.optional && errors.Is(err, syscall.ENOENT) {
					t.Skipf("scheduler %s not in this kernel: %v", s.name, err)
				}
				t.Fatalf("NewService with scheduler %s: %v", s.name, err)
			}
			got, err := h.GetService(&svc)
			if err != nil {
				t.Fatalf("GetService: %v", err)
			}
			if got.SchedName != s.name {
				t.Errorf("SchedName = %q, want %q", got.SchedName, s.name)
			}
			if err := h.DelService(&svc); err != nil {
				t.Fatalf("DelService: %v", err)
			}
		})
	}
}
