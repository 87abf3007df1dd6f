package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// TestStartupDelay: with Startup.HoldUntil (vrrp_startup_delay) every
// instance, an address owner too, is BACKUP until the delay is over and its
// master down timers run from the end of the delay, as keepalived's
// vrrp_init_instance_sands.
func TestStartupDelay(t *testing.T) {
	hold := t0.Add(10 * time.Second)
	t.Run("backup", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		wantActs(t, "startup", m.Step(t0, Startup{HoldUntil: hold}), "INIT->BACKUP")
		if got, want := m.NextDeadline(), hold.Add(mdi2(100)); got != want {
			t.Fatalf("master down timer %v, want %v", got.Sub(t0), want.Sub(t0))
		}
		// An advert during the delay re-arms the timer from the end of it.
		m.Step(t0.Add(5*time.Second), advertFrom(2, 200))
		if got, want := m.NextDeadline(), hold.Add(mdi2(100)); got != want {
			t.Fatalf("after advert: master down timer %v, want %v", got.Sub(t0), want.Sub(t0))
		}
		// After the delay, from now again.
		at := hold.Add(time.Second)
		m.Step(at, advertFrom(2, 200))
		if got, want := m.NextDeadline(), at.Add(mdi2(100)); got != want {
			t.Fatalf("after the delay: master down timer %v, want %v", got.Sub(t0), want.Sub(t0))
		}
	})
	t.Run("owner", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		wantActs(t, "startup", m.Step(t0, Startup{HoldUntil: hold}), "INIT->BACKUP")
		if m.NextDeadline() != hold {
			t.Fatalf("deadline %v, want %v", m.NextDeadline().Sub(t0), hold.Sub(t0))
		}
		wantActs(t, "tick", m.Step(hold, Tick{}), "advert(255) add garp(master) BACKUP->MASTER")
	})
	t.Run("past", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		wantActs(t, "startup", m.Step(hold, Startup{HoldUntil: t0}), "advert(255) add garp(master) INIT->MASTER")
	})
}

// TestUnicastPeerTTLs: the ranges reach Expect, for peers only.
func TestUnicastPeerTTLs(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.2")
	o := opts4(1, 100)
	o.UnicastPeers, o.CheckUnicastSource = []netip.Addr{peer}, true
	o.UnicastPeerTTLs = []PeerTTL{{Peer: peer, Min: 5, Max: 6}}
	m := newMachine(t, o)
	if e := m.Expect(peer); len(e.PeerTTLs) != 1 || e.PeerTTLs[0] != o.UnicastPeerTTLs[0] {
		t.Errorf("Expect.PeerTTLs %v", e.PeerTTLs)
	}
	o.UnicastPeerTTLs[0].Peer = netip.MustParseAddr("192.0.2.3")
	if _, err := NewMachine(o); err == nil {
		t.Error("TTL range for a non-peer accepted")
	}
}

// TestConfigFault: an instance whose configuration cannot run
// (unicast_fault_no_peer without peers) stays in FAULT until a reload fixes
// it.
func TestConfigFault(t *testing.T) {
	o := opts4(1, 255)
	o.ConfigFault = "unicast without any unicast_peer (unicast_fault_no_peer)"
	m := newMachine(t, o)
	acts := m.Step(t0, Startup{})
	wantActs(t, "startup", acts, "INIT->FAULT")
	if n := lastNotify(acts); n.Reason != "startup: "+o.ConfigFault || !m.Fault() {
		t.Errorf("reason %q, fault %v", n.Reason, m.Fault())
	}
	wantActs(t, "advert", m.Step(t0.Add(time.Second), advertFrom(2, 100)), "")
	wantActs(t, "link up", m.Step(t0.Add(2*time.Second), LinkUp{}), "")
	o.ConfigFault = ""
	wantActs(t, "reload", m.Step(t0.Add(3*time.Second), Reconfigure{Options: o}), "advert(255) add garp(master) FAULT->MASTER")
}
