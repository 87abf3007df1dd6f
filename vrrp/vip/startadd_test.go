package vip

import (
	"errors"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"golang.org/x/sys/unix"
)

// queuedAck reports whether an ack waits on m's bare socket (peeked, not
// read).
func (m *Manager) queuedAck(t *testing.T) bool {
	t.Helper()
	var b [64]byte
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(m.bound.raw.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	if e != 0 {
		t.Fatalf("peek: %v", e)
	}
	return n > 0
}

func newHereIn(t *testing.T, ns *testNS) *Manager {
	t.Helper()
	var m *Manager
	if err := ns.Do(func() error { m = NewHere(); return nil }); err != nil {
		t.Fatal(err)
	}
	if m.bound == nil {
		t.Fatal("NewHere did not open its sockets")
	}
	return m
}

// TestStartAddDoneInWrite: the kernel adds the address inside the
// request's write, so when StartAdd returns (its ack queued and not read)
// the address is on the device as another socket sees it, an IPv6 one
// already usable (not tentative: nodad), and FinishAdd returns the add's
// result. This is what lets a takeover send its first GARP before reading
// the ack.
func TestStartAddDoneInWrite(t *testing.T) {
	ns := newNS(t)
	m := newHereIn(t, ns)
	for _, p := range []string{"192.0.2.80/24", "2001:db8::80/64"} {
		a := Address{Prefix: netip.MustParsePrefix(p), Dev: ns.dev}
		if err := m.StartAdd(a); err != nil {
			t.Fatalf("StartAdd %s: %v", p, err)
		}
		if !m.queuedAck(t) {
			t.Errorf("%s: no ack queued when StartAdd returned", p)
		}
		st, ok, err := ns.m.Lookup(ns.dev, a.Prefix.Addr())
		if err != nil || !ok {
			t.Fatalf("%s not on %s before its ack was read: %v %v", p, ns.dev, ok, err)
		}
		if st.Flags&unix.IFA_F_TENTATIVE != 0 {
			t.Errorf("%s tentative before its ack was read (flags %#x)", p, st.Flags)
		}
		if err := m.FinishAdd(); err != nil {
			t.Errorf("FinishAdd %s: %v", p, err)
		}
		if m.queuedAck(t) {
			t.Errorf("%s: an ack left on the socket after FinishAdd", p)
		}
		// Again: EEXIST, not an error, as Add.
		if err := m.StartAdd(a); err != nil {
			t.Fatal(err)
		}
		if err := m.FinishAdd(); err != nil {
			t.Errorf("FinishAdd of %s already there: %v", p, err)
		}
	}
	if err := m.FinishAdd(); err == nil {
		t.Error("FinishAdd without StartAdd: no error")
	}
}

// TestStartAddFailureFinished: an add the kernel refuses (IPv6 on a
// device where it is disabled: EACCES) is written by StartAdd without an
// error and reported by FinishAdd, in StartAdd's order, as Add reports it;
// an Add in between (which reads the pending ack first) keeps it for
// FinishAdd; a device that does not exist fails StartAdd itself.
func TestStartAddFailureFinished(t *testing.T) {
	ns := newNS(t)
	m := newHereIn(t, ns)
	if err := ns.Do(func() error { return netns.WriteSysctl("net.ipv6.conf."+ns.dev+".disable_ipv6", "1") }); err != nil {
		t.Fatal(err)
	}
	bad := Address{Prefix: netip.MustParsePrefix("2001:db8::81/64"), Dev: ns.dev}
	good := Address{Prefix: netip.MustParsePrefix("192.0.2.81/24"), Dev: ns.dev}
	want := m.Add(bad)
	var e *Error
	if !errors.As(want, &e) || !errors.Is(want, unix.EACCES) {
		t.Fatalf("Add of IPv6 with IPv6 disabled: %v, want an *Error with EACCES", want)
	}
	for _, between := range []bool{false, true} {
		if err := m.StartAdd(bad); err != nil {
			t.Fatalf("StartAdd: %v, want the error from FinishAdd", err)
		}
		if err := m.StartAdd(good); err != nil {
			t.Fatal(err)
		}
		if between {
			if err := m.Add(Address{Prefix: netip.MustParsePrefix("192.0.2.82/24"), Dev: ns.dev}); err != nil {
				t.Fatalf("Add between: %v", err)
			}
		}
		if err := m.FinishAdd(); err == nil || err.Error() != want.Error() || !errors.Is(err, unix.EACCES) {
			t.Errorf("Add between %v: FinishAdd of the refused add: %v, want %v", between, err, want)
		}
		if err := m.FinishAdd(); err != nil {
			t.Errorf("Add between %v: FinishAdd of the good add: %v", between, err)
		}
	}
	if err := m.StartAdd(Address{Prefix: good.Prefix, Dev: "nosuch0"}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("StartAdd on a missing device: %v, want ErrNoDevice", err)
	}
	if err := m.FinishAdd(); err == nil {
		t.Error("FinishAdd after a failed StartAdd: no error (nothing should be started)")
	}
}

// TestStartAddManyBounded: more started adds than maxStarted leave no more
// than maxStarted acks on the socket, and each is finished with its result.
func TestStartAddManyBounded(t *testing.T) {
	ns := newNS(t)
	m := newHereIn(t, ns)
	n := maxStarted + 10
	for i := range n {
		a := Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 16), Dev: ns.dev}
		if err := m.StartAdd(a); err != nil {
			t.Fatal(err)
		}
	}
	unread := 0
	for _, s := range m.bound.raw.started {
		if !s.acked {
			unread++
		}
	}
	if unread > maxStarted {
		t.Errorf("%d acks unread, want at most %d", unread, maxStarted)
	}
	for i := range n {
		if err := m.FinishAdd(); err != nil {
			t.Errorf("FinishAdd %d: %v", i, err)
		}
	}
	if m.queuedAck(t) {
		t.Error("an ack left on the socket")
	}
}

// TestStartAddKeptAllocs: a takeover's StartAdd and FinishAdd of an
// address added before (its request kept) allocate nothing.
func TestStartAddKeptAllocs(t *testing.T) {
	ns := newNS(t)
	m := newHereIn(t, ns)
	a := Address{Prefix: netip.MustParsePrefix("2001:db8::70/64"), Dev: ns.dev}
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	var err error
	allocs := testing.AllocsPerRun(20, func() {
		if err = m.StartAdd(a); err == nil {
			err = m.FinishAdd()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per StartAdd and FinishAdd, want 0", allocs)
	}
}
