package vip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func lft(v uint32) *uint32 { return &v }

func TestAddRemove(t *testing.T) {
	ns := newNS(t)
	ip := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name      string
		a         Address
		want      State
		flagsOn   uint32 // must be set
		flagsOff  uint32 // must be clear
		checkLfts bool
	}{
		{
			name: "IPv4 brd scope label",
			a: Address{Prefix: pfx("192.0.2.10/24"), Broadcast: ip("192.0.2.255"), Scope: ScopeGlobal,
				Label: "vip0:vip"},
			want: State{Prefix: pfx("192.0.2.10/24"), Broadcast: ip("192.0.2.255"), Label: "vip0:vip"},
		},
		{
			name: "IPv4 no brd",
			a:    Address{Prefix: pfx("198.51.100.10/24")},
			want: State{Prefix: pfx("198.51.100.10/24"), Label: "vip0"},
		},
		{
			name: "IPv4 host scope",
			a:    Address{Prefix: pfx("192.0.2.20/32"), Scope: ScopeHost},
			want: State{Prefix: pfx("192.0.2.20/32"), Scope: ScopeHost, Label: "vip0"},
		},
		{
			name: "IPv4 link scope numeric 253",
			a:    Address{Prefix: pfx("192.0.2.21/32"), Scope: 253},
			want: State{Prefix: pfx("192.0.2.21/32"), Scope: ScopeLink, Label: "vip0"},
		},
		{
			name: "IPv4 peer",
			a:    Address{Prefix: pfx("203.0.113.1/32"), Peer: ip("203.0.113.2")},
			want: State{Prefix: pfx("203.0.113.1/32"), Peer: ip("203.0.113.2"), Label: "vip0"},
		},
		{
			name:    "IPv6 nodad",
			a:       Address{Prefix: pfx("2001:db8::10/64")},
			want:    State{Prefix: pfx("2001:db8::10/64"), PreferredLft: Forever, ValidLft: Forever},
			flagsOn: unix.IFA_F_NODAD, flagsOff: unix.IFA_F_TENTATIVE | unix.IFA_F_DEPRECATED,
			checkLfts: true,
		},
		{
			name:    "IPv6 /128 deprecated",
			a:       Address{Prefix: pfx("2001:db8::11/128")},
			want:    State{Prefix: pfx("2001:db8::11/128"), PreferredLft: 0, ValidLft: Forever},
			flagsOn: unix.IFA_F_NODAD | unix.IFA_F_DEPRECATED, flagsOff: unix.IFA_F_TENTATIVE,
			checkLfts: true,
		},
		{
			name:    "IPv6 /128 preferred forever",
			a:       Address{Prefix: pfx("2001:db8::12/128"), PreferredLft: lft(Forever)},
			want:    State{Prefix: pfx("2001:db8::12/128"), PreferredLft: Forever, ValidLft: Forever},
			flagsOn: unix.IFA_F_NODAD, flagsOff: unix.IFA_F_DEPRECATED,
			checkLfts: true,
		},
		{
			name:     "IPv6 with DAD and noprefixroute",
			a:        Address{Prefix: pfx("2001:db8::13/64"), DAD: true, NoPrefixRoute: true},
			want:     State{Prefix: pfx("2001:db8::13/64")},
			flagsOn:  unix.IFA_F_NOPREFIXROUTE,
			flagsOff: unix.IFA_F_NODAD,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Dev = ns.dev
			addr := a.Prefix.Addr()
			if ns.m.Present(ns.dev, addr) {
				t.Fatal("present before Add")
			}
			for i := range 2 { // the second Add is a no-op
				if err := ns.m.Add(a); err != nil {
					t.Fatalf("Add #%d %s: %v", i+1, a, err)
				}
			}
			st, ok, err := ns.m.Lookup(ns.dev, addr)
			if err != nil || !ok {
				t.Fatalf("Lookup after Add: %v %v", ok, err)
			}
			if !tc.checkLfts {
				st.PreferredLft, st.ValidLft = tc.want.PreferredLft, tc.want.ValidLft
			}
			gotFlags := st.Flags
			st.Flags = 0
			if st != tc.want {
				t.Errorf("state %+v\n     want %+v", st, tc.want)
			}
			if gotFlags&tc.flagsOn != tc.flagsOn || gotFlags&tc.flagsOff != 0 {
				t.Errorf("flags %#x: want %#x set and %#x clear", gotFlags, tc.flagsOn, tc.flagsOff)
			}
			if !ns.m.Present(ns.dev, addr) {
				t.Error("not Present after Add")
			}
			for i := range 2 { // the second Remove is a no-op
				if err := ns.m.Remove(a); err != nil {
					t.Fatalf("Remove #%d: %v", i+1, err)
				}
			}
			if ns.m.Present(ns.dev, addr) {
				t.Error("Present after Remove")
			}
		})
	}
}

func TestRemoveKeepsOthers(t *testing.T) {
	ns := newNS(t)
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: ns.dev, Label: "vip0:a"}
	b := Address{Prefix: netip.MustParsePrefix("192.0.2.11/24"), Dev: ns.dev}
	for _, x := range []Address{a, b} {
		if err := ns.m.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	// Removing the secondary keeps the primary.
	if err := ns.m.Remove(b); err != nil {
		t.Fatal(err)
	}
	if !ns.m.Present(ns.dev, a.Prefix.Addr()) || ns.m.Present(ns.dev, b.Prefix.Addr()) {
		t.Fatal("wrong address removed")
	}
	a.Label = "" // Remove matches whatever label the address has
	if err := ns.m.Remove(a); err != nil || ns.m.Present(ns.dev, a.Prefix.Addr()) {
		t.Fatalf("remove labelled address without label: %v", err)
	}
}

func TestMissingDevice(t *testing.T) {
	ns := newNS(t)
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: "nosuch0"}
	err := ns.m.Add(a)
	var e *Error
	if !errors.Is(err, ErrNoDevice) || !errors.As(err, &e) || e.Op != "add" {
		t.Fatalf("Add on missing device: %v, want *Error matching ErrNoDevice", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "192.0.2.10/24") || !strings.Contains(msg, "nosuch0") {
		t.Fatalf("error %q does not name the address and device", msg)
	}
	if err := ns.m.Remove(a); err != nil {
		t.Fatalf("Remove on missing device: %v, want nil", err)
	}
	if ns.m.Present("nosuch0", a.Prefix.Addr()) {
		t.Fatal("Present on missing device")
	}
}

// TestNewFollowsThread checks that a Manager from New works in the namespace of
// the thread calling it, as the daemon relies on.
func TestNewFollowsThread(t *testing.T) {
	ns := newNS(t)
	a := Address{Prefix: netip.MustParsePrefix("2001:db8::20/64"), Dev: ns.dev}
	m := New()
	if err := ns.Do(func() error { return m.Add(a) }); err != nil {
		t.Fatal(err)
	}
	if !ns.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Fatal("not present after Add")
	}
	if err := ns.Do(func() error { return m.Remove(a) }); err != nil {
		t.Fatal(err)
	}
	if ns.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Fatal("present after Remove")
	}
}

// TestNewKeepsOneSocketPerNamespace: New's Manager keeps a netlink socket per
// namespace; used from two namespaces in turn, each change lands in the
// namespace of the calling thread.
func TestNewKeepsOneSocketPerNamespace(t *testing.T) {
	na, nb := newNS(t), newNS(t)
	m := New()
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.30/24"), Dev: na.dev}
	b := Address{Prefix: netip.MustParsePrefix("192.0.2.31/24"), Dev: nb.dev}
	for range 2 {
		if err := na.Do(func() error { return m.Add(a) }); err != nil {
			t.Fatal(err)
		}
		if err := nb.Do(func() error { return m.Add(b) }); err != nil {
			t.Fatal(err)
		}
	}
	if !na.m.Present(a.Dev, a.Prefix.Addr()) || na.m.Present(b.Dev, b.Prefix.Addr()) {
		t.Error("namespace A: want only A's address")
	}
	if !nb.m.Present(b.Dev, b.Prefix.Addr()) || nb.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Error("namespace B: want only B's address")
	}
	if err := nb.Do(func() error { return m.Remove(b) }); err != nil {
		t.Fatal(err)
	}
	if nb.m.Present(b.Dev, b.Prefix.Addr()) || !na.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Error("Remove in B: want B's address gone and A's kept")
	}
}

// TestNewHereStaysInItsNamespace: NewHere's Manager, created in a
// namespace, adds, finds and removes addresses there when called from a
// thread of another namespace (the test's), and never looks up the calling
// thread's namespace (its table of namespaces keeps the one entry of its
// creation).
func TestNewHereStaysInItsNamespace(t *testing.T) {
	ns := newNS(t)
	var m *Manager
	if err := ns.Do(func() error { m = NewHere(); return nil }); err != nil {
		t.Fatal(err)
	}
	if m.bound == nil {
		t.Fatal("NewHere did not bind its sockets")
	}
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.50/24"), Dev: ns.dev}
	if err := m.Add(a); err != nil { // from the test's namespace, which has no vip0
		t.Fatalf("Add from another namespace: %v", err)
	}
	if !ns.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Fatal("not present in the bound namespace after Add")
	}
	if ok, err := m.Has(a); err != nil || !ok {
		t.Fatalf("Has: %v %v, want true", ok, err)
	}
	if err := m.Remove(a); err != nil {
		t.Fatal(err)
	}
	if ns.m.Present(a.Dev, a.Prefix.Addr()) {
		t.Fatal("present after Remove")
	}
	if err := m.Add(Address{Prefix: a.Prefix, Dev: "nosuchdev0"}); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("Add on a missing device: %v, want ErrNoDevice", err)
	}
	m.mu.Lock()
	n := len(m.byNS)
	m.mu.Unlock()
	if n != 1 {
		t.Fatalf("NewHere's Manager knows %d namespaces, want 1: a call looked up its thread's", n)
	}
}

// TestHas: Has tells an address on its device by address and prefix
// length, and a missing device is not an error.
func TestHas(t *testing.T) {
	ns := newNS(t)
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.20/32"), Dev: ns.dev}
	a6 := Address{Prefix: netip.MustParsePrefix("2001:db8::20/128"), Dev: ns.dev}
	for _, x := range []Address{a, a6} {
		if has, err := ns.m.Has(x); err != nil || has {
			t.Fatalf("Has(%v) before Add = %v, %v", x, has, err)
		}
		if err := ns.m.Add(x); err != nil {
			t.Fatal(err)
		}
		if has, err := ns.m.Has(x); err != nil || !has {
			t.Fatalf("Has(%v) after Add = %v, %v", x, has, err)
		}
	}
	other := Address{Prefix: netip.MustParsePrefix("192.0.2.20/24"), Dev: ns.dev}
	if has, err := ns.m.Has(other); err != nil || has {
		t.Errorf("Has(%v), another prefix length = %v, %v", other, has, err)
	}
	if has, err := ns.m.Has(Address{Prefix: a.Prefix, Dev: "nosuchdev0"}); err != nil || has {
		t.Errorf("Has on a missing device = %v, %v", has, err)
	}
}

// TestNewAddMatchesHandle: New's Add (a bare rtnetlink request, rawadd.go)
// leaves every kind of address in the state netlink.Handle.AddrAdd leaves
// it in, a second Add is a no-op, and the kernel's refusal is an *Error.
func TestNewAddMatchesHandle(t *testing.T) {
	ns := newNS(t)
	ip := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	m := New()
	// The removal of stale VIPs at startup opens Add's socket, so that the
	// first Add (a takeover's) does not.
	if err := ns.Do(func() error { return m.Remove(Address{Prefix: pfx("192.0.2.9/24"), Dev: ns.dev}) }); err != nil {
		t.Fatal(err)
	}
	if m.rawSockets() != 1 {
		t.Fatalf("after Remove: %d bare sockets, want 1", m.rawSockets())
	}
	for _, a := range []Address{
		{Prefix: pfx("192.0.2.10/24"), Broadcast: ip("192.0.2.255"), Scope: ScopeGlobal, Label: "vip0:vip"},
		{Prefix: pfx("198.51.100.10/24")},
		{Prefix: pfx("192.0.2.20/32"), Scope: ScopeHost},
		{Prefix: pfx("203.0.113.1/32"), Peer: ip("203.0.113.2")},
		{Prefix: pfx("192.0.2.22/32"), PreferredLft: lft(600)},
		{Prefix: pfx("2001:db8::10/64")},
		{Prefix: pfx("2001:db8::11/128")},
		{Prefix: pfx("2001:db8::12/128"), PreferredLft: lft(Forever)},
		{Prefix: pfx("2001:db8::13/64"), DAD: true, NoPrefixRoute: true},
		{Prefix: pfx("2001:db8::14/64"), Home: true, MngTmpAddr: true}, // IFA_F_MANAGETEMPADDR > 0xff: IFA_FLAGS
	} {
		a.Dev = ns.dev
		addr := a.Prefix.Addr()
		if err := ns.m.Add(a); err != nil {
			t.Fatalf("Handle Add %s: %v", a, err)
		}
		want, ok, err := ns.m.Lookup(ns.dev, addr)
		if err != nil || !ok {
			t.Fatalf("Lookup after Handle Add %s: %v %v", a, ok, err)
		}
		if err := ns.m.Remove(a); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // the second Add is a no-op
			if err := ns.Do(func() error { return m.Add(a) }); err != nil {
				t.Fatalf("New Add #%d %s: %v", i+1, a, err)
			}
		}
		got, ok, err := ns.m.Lookup(ns.dev, addr)
		if err != nil || !ok {
			t.Fatalf("Lookup after New Add %s: %v %v", a, ok, err)
		}
		if a.PreferredLft != nil && *a.PreferredLft != Forever {
			// counting down since each Add
			got.PreferredLft, got.ValidLft, want.PreferredLft, want.ValidLft = 0, 0, 0, 0
		}
		if got != want {
			t.Errorf("%s: New Add left %+v\n     Handle Add left %+v", a, got, want)
		}
		if err := ns.m.Remove(a); err != nil {
			t.Fatal(err)
		}
	}
	if m.rawSockets() != 1 {
		t.Fatalf("New's Manager keeps %d bare sockets, want 1: Add did not take the bare path", m.rawSockets())
	}
	gone := Address{Prefix: pfx("192.0.2.41/24"), Dev: "nosuchdev0"}
	if err := ns.Do(func() error { return m.Add(gone) }); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("Add on a missing device: %v, want ErrNoDevice", err)
	}
	// The kernel refuses autojoin for an address that is not multicast.
	bad := Address{Prefix: pfx("2001:db8::40/64"), Dev: ns.dev, AutoJoin: true}
	err := ns.Do(func() error { return m.Add(bad) })
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Add with autojoin: %v, want an *Error wrapping EINVAL", err)
	}
}

// rawSockets is how many bare rtnetlink sockets m keeps.
func (m *Manager) rawSockets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, ns := range m.byNS {
		if ns.raw != nil {
			n++
		}
	}
	return n
}

// TestAddRecreatedInterface: the bare socket keeps a device's index and the
// requests built with it while no link changes; a device deleted and
// created again under its name (a new index) is seen at the next Add, for
// an address added before (a kept request) and for a new one (a kept
// index), and so is a device renamed away (ErrNoDevice). Without the link
// watch's invalidation both Adds fail with ErrNoDevice.
func TestAddRecreatedInterface(t *testing.T) {
	ns := newNS(t)
	var m *Manager
	if err := ns.Do(func() error { m = NewHere(); return nil }); err != nil {
		t.Fatal(err)
	}
	if m.bound == nil || m.bound.raw.links == nil {
		t.Fatal("NewHere did not open its sockets and link watch")
	}
	a := Address{Prefix: netip.MustParsePrefix("192.0.2.70/24"), Dev: ns.dev}
	b := Address{Prefix: netip.MustParsePrefix("192.0.2.71/24"), Dev: ns.dev}
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	recreate := func() {
		t.Helper()
		link, err := ns.nl.LinkByName(ns.dev)
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.nl.LinkDel(link); err != nil { // takes its peer too
			t.Fatal(err)
		}
		if err := ns.nl.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ns.dev}, PeerName: "peer0"}); err != nil {
			t.Fatal(err)
		}
		l2, err := ns.nl.LinkByName(ns.dev)
		if err != nil {
			t.Fatal(err)
		}
		if l2.Attrs().Index == link.Attrs().Index {
			t.Fatalf("re-created %s has its old index %d", ns.dev, l2.Attrs().Index)
		}
	}
	recreate()
	for _, x := range []Address{a, b} {
		if err := m.Add(x); err != nil {
			t.Fatalf("Add %s after %s was re-created: %v", x.Prefix, ns.dev, err)
		}
		if !ns.m.Present(x.Dev, x.Prefix.Addr()) {
			t.Fatalf("%s not on the re-created %s", x.Prefix, ns.dev)
		}
	}
	link, err := ns.nl.LinkByName(ns.dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.nl.LinkSetName(link, "vip1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(a); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("Add on %s renamed away: %v, want ErrNoDevice", ns.dev, err)
	}
}

// TestAddKeptAllocs: a takeover's Add of an address added before since
// the last link change (its request kept) allocates nothing.
func TestAddKeptAllocs(t *testing.T) {
	ns := newNS(t)
	var m *Manager
	if err := ns.Do(func() error { m = NewHere(); return nil }); err != nil {
		t.Fatal(err)
	}
	a := Address{Prefix: netip.MustParsePrefix("2001:db8::70/64"), Dev: ns.dev}
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	var err error
	allocs := testing.AllocsPerRun(20, func() { err = m.Add(a) }) // each one EEXIST: a no-op
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per Add, want 0", allocs)
	}
}
