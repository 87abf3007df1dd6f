//go:build linux

package garp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
)

// BenchmarkAnnouncerSend is the cost of one gratuitous ARP of a takeover
// (an Announcer prepared at startup, as the VRRP runner's) on a veth in a
// private namespace, back to back (hot) and after 2 ms of idleness (idle),
// as a takeover's first GARP comes after silence. Root only.
func BenchmarkAnnouncerSend(b *testing.B) {
	b.Run("hot", func(b *testing.B) { benchSend(b, vip4, 0) })
	b.Run("idle", func(b *testing.B) { benchSend(b, vip4, 2*time.Millisecond) })
}

// BenchmarkAnnouncerSendNA is BenchmarkAnnouncerSend for an IPv6 VIP's
// unsolicited neighbour advertisement.
func BenchmarkAnnouncerSendNA(b *testing.B) {
	b.Run("hot", func(b *testing.B) { benchSend(b, vip6, 0) })
	b.Run("idle", func(b *testing.B) { benchSend(b, vip6, 2*time.Millisecond) })
}

func benchSend(b *testing.B, vip netip.Addr, idle time.Duration) {
	ns := netns.New(b)
	h := ns.Netlink(b)
	netns.AddVethUp(b, h, "gb0", "gb1", macA)
	an := NewAnnouncer(AnnouncerConfig{})
	b.Cleanup(func() { an.Close() })
	a := Announcement{Interface: "gb0", Addr: vip}
	err := ns.Do(func() error {
		if err := an.Prepare("gb0"); err != nil {
			return err
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if idle > 0 {
				b.StopTimer()
				time.Sleep(idle)
				b.StartTimer()
			}
			if err := an.Send(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
