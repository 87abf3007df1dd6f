package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// slowScripts records when each notify script starts and ends; a script
// runs for delay[argv[0]] (fake time).
type slowScripts struct {
	mu     sync.Mutex
	delay  map[string]time.Duration
	events []string
}

func (s *slowScripts) Run(ctx context.Context, spec script.Spec) script.Result {
	name := strings.Join(spec.Argv, " ")
	s.mu.Lock()
	s.events = append(s.events, "start "+name)
	d := s.delay[spec.Argv[0]]
	s.mu.Unlock()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.events = append(s.events, "end "+name)
	s.mu.Unlock()
	return script.Result{}
}

func (s *slowScripts) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// TestRunnerNotifyScriptsInOrder: one instance's notify scripts run one at
// a time in the order of its transitions, even when an earlier script is
// slower than the master down timer (keepalived starts each at once, so its
// notify_master can run before the notify_backup of the transition before:
// keepalived issues #584, #996, #1055, #2158). OnNotify gets each state
// change, after its scripts were queued, in order.
func TestRunnerNotifyScriptsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		m := netModes[0]
		vi := m.instance("VI_1", 51, 150, "")
		vi.Notify = notifyScripts("/n")
		// The BACKUP scripts outlast the master down timer (3.4 s).
		slow := &slowScripts{delay: map[string]time.Duration{"/n/backup": 5 * time.Second, "/n/notify": 2 * time.Second}}
		var mu sync.Mutex
		var notified []string
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{vi}, nodeOpts{links: true, ifaces: []string{"eth0"}, notifier: slow,
			onNotify: func(kind script.NotifyKind, name, state string, prio int) {
				mu.Lock()
				notified = append(notified, fmt.Sprintf("%s %s %s %d", kind, name, state, prio))
				mu.Unlock()
			}})
		l.start()
		l.runUntil(t0.Add(4 * time.Second))
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Fatalf("VI_1 is %v, want MASTER", s.State)
		}
		a.links.set("eth0", false)
		l.runUntil(t0.Add(30 * time.Second))
		if err := a.stop(); err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for _, st := range []string{"backup BACKUP", "master MASTER", "fault FAULT", "stop STOP"} {
			w := strings.Fields(st)
			prio := "150"
			for _, sc := range []string{"/n/" + w[0], "/n/notify arg one INSTANCE VI_1 " + w[1] + " " + prio} {
				want = append(want, "start "+sc, "end "+sc)
			}
		}
		if got := slow.log(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("notify scripts ran\n%s\nwant one at a time, in order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		mu.Lock()
		defer mu.Unlock()
		wantN := []string{"INSTANCE VI_1 BACKUP 150", "INSTANCE VI_1 MASTER 150", "INSTANCE VI_1 FAULT 150", "INSTANCE VI_1 STOP 150"}
		if strings.Join(notified, "\n") != strings.Join(wantN, "\n") {
			t.Errorf("OnNotify got\n%s\nwant\n%s", strings.Join(notified, "\n"), strings.Join(wantN, "\n"))
		}
	})
}

// TestRunnerNotifyPriorityChanges: with NotifyPriorityChanges each change of
// the effective priority goes to OnNotify as MASTER_PRIORITY while master
// and BACKUP_PRIORITY otherwise, with the new priority (keepalived's
// send_instance_priority_notifies); without it, nothing.
func TestRunnerNotifyPriorityChanges(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				ia := netModes[0].instance("VI_1", 51, 150, "")
				ia.NotifyPriorityChanges = on
				ia.TrackScripts = []TrackScript{{
					Script:  track.ScriptConfig{Name: "chk", Interval: time.Second, Fall: 1, Rise: 1},
					Command: Command{Argv: []string{"/chk"}},
					Weight:  -60,
				}}
				var mu sync.Mutex
				var got []string
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{onNotify: func(kind script.NotifyKind, name, state string, prio int) {
					mu.Lock()
					got = append(got, fmt.Sprintf("%s %s %s %d", kind, name, state, prio))
					mu.Unlock()
				}})
				l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5500 * time.Millisecond))
				a.scripts.set("/chk", false)
				l.runUntil(t0.Add(12 * time.Second))
				a.scripts.set("/chk", true)
				l.runUntil(t0.Add(20 * time.Second))
				mu.Lock()
				defer mu.Unlock()
				want := []string{"INSTANCE VI_1 BACKUP 150", "INSTANCE VI_1 MASTER 150"}
				if on {
					want = append(want, "INSTANCE VI_1 MASTER_PRIORITY 90")
				}
				want = append(want, "INSTANCE VI_1 BACKUP 90")
				if on {
					want = append(want, "INSTANCE VI_1 BACKUP_PRIORITY 150")
				}
				want = append(want, "INSTANCE VI_1 MASTER 150")
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("OnNotify got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		})
	}
}
