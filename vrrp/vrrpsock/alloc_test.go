package vrrpsock

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAdvertAllocs: sending an advert and receiving one (ppoll, TryRecv),
// the VRRP loop's socket work per advert, do not allocate, for both
// families (see the runner's TestAdvertPathAllocs).
func TestAdvertAllocs(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name string
		ipv6 bool
	}{{"IPv4", false}, {"IPv6", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ca := tp.a.open(Config{Interface: "a1", IPv6: tc.ipv6})
			cb := tp.b.open(Config{Interface: "b1", IPv6: tc.ipv6})
			dst := ca.Destinations()[0]
			payload := []byte("an advert of twenty bytes")
			buf := make([]byte, 2048)
			fds := []unix.PollFd{{Fd: int32(cb.PollFd()), Events: unix.POLLIN}}
			var failed error
			sendAllocs := testing.AllocsPerRun(50, func() {
				if err := ca.Send(payload, dst); err != nil {
					failed = err
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			got := 0
			recvAllocs := testing.AllocsPerRun(50, func() {
				if _, err := unix.Ppoll(fds, &unix.Timespec{Sec: int64(recvTimeout / time.Second)}, nil); err != nil {
					failed = err
				}
				if _, ok, err := cb.TryRecv(buf); err != nil {
					failed = err
				} else if ok {
					got++
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if got != 51 {
				t.Fatalf("received %d adverts, want 51", got)
			}
			if sendAllocs != 0 || recvAllocs != 0 {
				t.Errorf("allocations per advert: Send %.1f, TryRecv %.1f; want 0", sendAllocs, recvAllocs)
			}
		})
	}
}
