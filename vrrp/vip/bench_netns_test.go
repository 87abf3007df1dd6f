package vip

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// BenchmarkAddRemove is the cost of a takeover's address add (and of its
// removal, to repeat it) by New's Manager, which finds its namespace's
// sockets per call, and by NewHere's, bound at creation, from a thread of
// the namespace, after 2 ms of idleness as a takeover comes after silence.
// Root only.
func BenchmarkAddRemove(b *testing.B) {
	for _, bc := range []struct {
		name string
		mk   func() *Manager
	}{{"New", New}, {"NewHere", NewHere}} {
		b.Run(bc.name, func(b *testing.B) {
			ns := newNS(b)
			a := Address{Prefix: netip.MustParsePrefix("192.0.2.60/24"), Dev: ns.dev}
			err := ns.Do(func() error {
				m := bc.mk()
				if err := m.Remove(a); err != nil { // opens the sockets
					return err
				}
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					time.Sleep(2 * time.Millisecond)
					b.StartTimer()
					if err := m.Add(a); err != nil {
						return err
					}
					b.StopTimer()
					if err := m.Remove(a); err != nil {
						return err
					}
					b.StartTimer()
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAddAfterIdle is a takeover's address add by NewHere's Manager
// after 2 ms and after 200 ms of idleness (nearer a takeover's silence; run
// it with -benchtime=30x or more), and after 200 ms followed by 1 ms of
// spinning on the clock (as the VRRP loop spins to a master down deadline)
// or by an add of another address already there (EEXIST: the same system
// calls, the kernel stopping before the insertion). It shows where the
// cost of an add after idleness lies: in the kernel's insertion of the
// address, not in the system calls' path (the EEXIST add just before it
// helps little), and the spin does not warm it either; p50-ns is the
// median add. Root only.
func BenchmarkAddAfterIdle(b *testing.B) {
	for _, bc := range []struct {
		name string
		idle time.Duration
		then func(m *Manager, other Address)
	}{
		{"idle=2ms", 2 * time.Millisecond, nil},
		{"idle=200ms", 200 * time.Millisecond, nil},
		{"idle=200ms+spin=1ms", 200 * time.Millisecond, func(*Manager, Address) {
			for t := time.Now(); time.Since(t) < time.Millisecond; {
			}
		}},
		{"idle=200ms+EEXIST-add", 200 * time.Millisecond, func(m *Manager, other Address) { _ = m.Add(other) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ns := newNS(b)
			a := Address{Prefix: netip.MustParsePrefix("192.0.2.61/24"), Dev: ns.dev}
			other := Address{Prefix: netip.MustParsePrefix("192.0.2.62/24"), Dev: ns.dev}
			err := ns.Do(func() error {
				m := NewHere()
				if err := m.Add(other); err != nil {
					return err
				}
				took := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					time.Sleep(bc.idle)
					if bc.then != nil {
						bc.then(m, other)
					}
					b.StartTimer()
					start := time.Now()
					err := m.Add(a)
					took = append(took, time.Since(start))
					b.StopTimer()
					if err == nil {
						err = m.Remove(a)
					}
					if err != nil {
						return err
					}
					b.StartTimer()
				}
				b.StopTimer()
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
