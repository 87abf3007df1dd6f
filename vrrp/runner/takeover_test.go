package runner

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// logProbe calls on for every log line written (slog writes a record in one
// Write).
type logProbe struct {
	mu sync.Mutex
	on func(line string)
}

func (p *logProbe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.on(string(b))
	return len(b), nil
}

// TestRunnerTakeoverWireBeforeLog: on becoming master the advert and the
// first GARP leave before the transition is logged (logging is not on the
// advert path), and the log line carries the decision's time and
// decision -> advert / GARP.
func TestRunnerTakeoverWireBeforeLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		var (
			adverts, garps int = -1, -1
			line           string
			a              *node
		)
		probe := &logProbe{on: func(s string) {
			if line == "" && strings.Contains(s, "VRRP state change") && strings.Contains(s, "to=MASTER") {
				adverts, garps, line = len(l.sentBy("A")), a.garps.count(), s
			}
		}}
		a = l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{logw: probe})
		l.start()
		mdi := 3*time.Second + skewAt(100)
		l.runUntil(t0.Add(mdi + 10*time.Millisecond))
		if got := a.inst("VI_1"); !got.LastTransition.Equal(t0.Add(mdi)) {
			t.Fatalf("A became %v at %v, want MASTER at %v", got.State, got.LastTransition, t0.Add(mdi))
		}
		if adverts < 1 || garps < 1 {
			t.Errorf("when the MASTER line was written: %d adverts and %d GARPs sent, want both sent first", adverts, garps)
		}
		for _, want := range []string{"time=" + t0.Add(mdi).Format("2006-01-02T15:04:05.000Z07:00"), "timer_late=0s", "advert_after=0s", "garp_after=0s"} {
			if !strings.Contains(line, want) {
				t.Errorf("MASTER line %q lacks %q", line, want)
			}
		}
	})
}

// TestRunnerMasterDownFromReceiveTime: the master down timer restarts at
// the kernel's receive time of an advert (Packet.Received), not when the
// loop read it, and never earlier than the machines' time so far.
func TestRunnerMasterDownFromReceiveTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		received time.Duration // before the injection; 0: no timestamp
		anchor   func(inject, lastAdvert time.Time) time.Time
	}{
		{"no timestamp", 0, func(inject, _ time.Time) time.Time { return inject }},
		{"received 200ms before it was read", 200 * time.Millisecond, func(inject, _ time.Time) time.Time { return inject.Add(-200 * time.Millisecond) }},
		{"received before the last step", 2 * time.Second, func(_, lastAdvert time.Time) time.Time { return lastAdvert }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5 * time.Second))
				// A falls silent; its last advert reached B at lastAdvert.
				l.net.mu.Lock()
				l.net.tamper = func(from, _ *fakeConn, _ *vrrpsock.Packet) bool { return from.n != a }
				l.net.mu.Unlock()
				lastAdvert := t0.Add(4*time.Second + skewAt(150))
				inject := t0.Add(5500 * time.Millisecond)
				l.runUntil(inject)

				adv := vrrp.Advertisement{Version: 2, VRID: 51, Priority: 150, Interval: time.Second,
					Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
				src := netip.MustParseAddr(addrA4)
				payload, err := adv.Marshal(vrrp.EncodeOptions{Src: src, Dst: vrrp.MulticastGroup4})
				if err != nil {
					t.Fatal(err)
				}
				p := vrrpsock.Packet{Payload: payload, Src: src, Dst: vrrp.MulticastGroup4, TTL: 255, IfIndex: 1}
				if tc.received > 0 {
					p.Received = time.Now().Add(-tc.received).Round(0) // the kernel's: wall clock only
				}
				l.inject(b, "eth0", p)
				l.settle()
				l.runUntil(inject.Add(5 * time.Second))
				want := tc.anchor(inject, lastAdvert).Add(3*time.Second + skewAt(100))
				if got := b.inst("VI_1"); got.State != vrrp.StateMaster || !got.LastTransition.Equal(want) {
					t.Errorf("B: %v at %v, want MASTER at %v", got.State, got.LastTransition.Sub(t0), want.Sub(t0))
				}
			})
		})
	}
}

// TestRunnerTakeoverLogsFirstGARP: the transition line's garp_after is when
// the first GARP of the takeover's burst (garp_master_repeat, 5) was sent,
// not when the burst ended.
func TestRunnerTakeoverLogsFirstGARP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		var line string
		probe := &logProbe{on: func(s string) {
			if line == "" && strings.Contains(s, "VRRP state change") && strings.Contains(s, "to=MASTER") {
				line = s
			}
		}}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{logw: probe})
		a.garps.delay = time.Millisecond
		l.start()
		l.runUntil(t0.Add(3*time.Second + skewAt(100) + time.Second))
		if n := a.garps.count(); n < 2 {
			t.Fatalf("%d GARPs sent, want a burst", n)
		}
		if !strings.Contains(line, "garp_after=1ms") {
			t.Errorf("MASTER line %q: want garp_after=1ms (the first GARP)", line)
		}
	})
}
