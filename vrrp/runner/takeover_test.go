package runner

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
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
