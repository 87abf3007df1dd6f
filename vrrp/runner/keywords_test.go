package runner

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
)

// TestRunnerUnicastTTLAndPeerRange: A sends its unicast adverts with
// UnicastTTL (keepalived unicast_ttl); B accepts from A only a TTL within A's
// min_ttl..max_ttl and counts the others as invalid_ttl (keepalived
// ip_ttl_err), so with TTL 10 against min_ttl 64 B never hears A and both are
// master.
func TestRunnerUnicastTTLAndPeerRange(t *testing.T) {
	m := netModes[1] // v3 unicast IPv4
	for _, tc := range []struct {
		name      string
		ttl       int
		wantB     vrrp.State
		wantDrops bool
	}{
		{"ttl 64 in range", 64, vrrp.StateBackup, false},
		{"ttl 10 below min_ttl", 10, vrrp.StateMaster, true},
		{"default ttl 255 above max_ttl", 0, vrrp.StateMaster, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				ia := m.instance("VI_1", 51, 150, addrB4)
				ia.UnicastTTL = tc.ttl
				ib := m.instance("VI_1", 51, 100, addrA4)
				ib.Machine.CheckUnicastSource = true
				ib.Machine.UnicastPeerTTLs = []vrrp.PeerTTL{{Peer: netip.MustParseAddr(addrA4), Min: 64, Max: 128}}
				l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{ib}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(10 * time.Second))
				sb := b.inst("VI_1")
				if sb.State != tc.wantB {
					t.Errorf("B is %v, want %v", sb.State, tc.wantB)
				}
				if drops := sb.RxErrors[vrrp.ReasonInvalidTTL]; (drops > 0) != tc.wantDrops || len(sb.RxErrors) > 1 {
					t.Errorf("B rx errors %v, want invalid_ttl drops: %v", sb.RxErrors, tc.wantDrops)
				}
			})
		})
	}
}

// TestRunnerStartupDelay: with StartupDelay (vrrp_startup_delay) a lone
// instance becomes master a master down interval after the delay, not after
// startup.
func TestRunnerStartupDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{startupDelay: 10 * time.Second})
		l.start()
		if s := a.inst("VI_1"); s.State != vrrp.StateBackup {
			t.Fatalf("A is %v at startup, want BACKUP", s.State)
		}
		l.runUntil(t0.Add(20 * time.Second))
		want := t0.Add(10*time.Second + 3*time.Second + skewAt(150))
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster || !s.LastTransition.Equal(want) {
			t.Errorf("A is %v since %v, want MASTER since %v", s.State, s.LastTransition.Sub(t0), want.Sub(t0))
		}
	})
}
