package vip

import (
	"net/netip"
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
