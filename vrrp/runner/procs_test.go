package runner

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// TestRunnerTrackProcess: the master loses mastership when its tracked
// process falls below the quorum (after terminate_delay), and takes it back
// when the quorum holds again (after fork_delay); weight 0 means FAULT;
// quorum_max bounds the count from above.
func TestRunnerTrackProcess(t *testing.T) {
	tests := []struct {
		name     string
		weight   int
		reverse  bool
		down     int // processes running while "down"
		wantA    vrrp.State
		wantPrio uint8
	}{
		{name: "weight_-60", weight: -60, down: 0, wantA: vrrp.StateBackup, wantPrio: 90},
		{name: "weight_0", weight: 0, down: 1, wantA: vrrp.StateFault, wantPrio: 150},
		{name: "above_quorum_max", weight: -60, down: 4, wantA: vrrp.StateBackup, wantPrio: 90},
		{name: "weight_60_reverse", weight: 60, reverse: true, down: 0, wantA: vrrp.StateMaster, wantPrio: 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				procs := &fakeProcs{}
				procs.set(2, "haproxy", "-f", "/etc/haproxy.cfg")
				ia := netModes[0].instance("VI_1", 51, 150, "")
				ia.TrackProcesses = []TrackProcess{{
					Process: track.ProcessConfig{Name: "hap", Process: "haproxy", Params: []string{"-f"}, ParamMatch: track.ParamMatchPartial,
						Quorum: 2, QuorumMax: 3, TerminateDelay: 2 * time.Second, ForkDelay: time.Second},
					Weight: tc.weight, Reverse: tc.reverse,
				}}
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{procs: procs})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5 * time.Second))
				upPrio := uint8(150)
				if tc.reverse {
					upPrio = 90 // reverse: the process running lowers the priority
				}
				if got := a.inst("VI_1"); got.EffectivePriority != upPrio {
					t.Fatalf("A %v prio %d, want prio %d", got.State, got.EffectivePriority, upPrio)
				}

				procs.set(tc.down, "haproxy", "-f", "/etc/haproxy.cfg")
				l.runFor(time.Second) // within terminate_delay: nothing yet
				if got := a.inst("VI_1"); got.EffectivePriority != upPrio || got.State == vrrp.StateFault {
					t.Fatalf("before terminate_delay: A %v prio %d", got.State, got.EffectivePriority)
				}
				l.runFor(8 * time.Second)
				sa, sb := a.inst("VI_1"), b.inst("VI_1")
				if sa.State != tc.wantA || sa.EffectivePriority != tc.wantPrio {
					t.Fatalf("down: A %v prio %d, want %v prio %d", sa.State, sa.EffectivePriority, tc.wantA, tc.wantPrio)
				}
				if (tc.wantA == vrrp.StateMaster) != (sb.State == vrrp.StateBackup) {
					t.Fatalf("down: B %v", sb.State)
				}
				if len(sa.Trackers) != 1 || sa.Trackers[0].Kind != track.KindProcess || sa.Trackers[0].State != track.StateFail {
					t.Errorf("A trackers %+v", sa.Trackers)
				}

				// Back: fork_delay, then A preempts again (or, reverse, gives up).
				procs.set(2, "haproxy", "-f", "/etc/haproxy.cfg")
				l.runFor(8 * time.Second)
				if got := a.inst("VI_1"); got.EffectivePriority != upPrio || got.State == vrrp.StateFault {
					t.Fatalf("back: A %v prio %d, want prio %d", got.State, got.EffectivePriority, upPrio)
				}
			})
		})
	}
}

// TestRunnerTrackProcessReload: a reload keeps an unchanged process
// tracker's state and decides a new one at the next listing.
func TestRunnerTrackProcessReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		procs := &fakeProcs{}
		procs.set(0, "nginx")
		ia := netModes[0].instance("VI_1", 51, 150, "")
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{procs: procs})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if procs.calls != 0 {
			t.Errorf("processes listed %d times without track_process", procs.calls)
		}
		ia.TrackProcesses = []TrackProcess{{Process: track.ProcessConfig{Name: "ng", Process: "nginx", Quorum: 1, QuorumMax: -1}, Weight: -20}}
		if _, err := a.update([]InstanceConfig{ia}, nil); err != nil {
			t.Fatal(err)
		}
		l.runFor(time.Second)
		if got := a.inst("VI_1").EffectivePriority; got != 130 {
			t.Fatalf("after adding track_process: prio %d, want 130", got)
		}
	})
}

// TestProcFS lists a real process started with a distinctive argv.
func TestProcFS(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	// sleep sums its arguments: 0.PID makes the argv distinctive.
	mark := "0." + strconv.Itoa(os.Getpid())
	cmd := exec.Command("sleep", "1000", mark)
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	cfg := track.ProcessConfig{Name: "s", Process: "sleep", Params: []string{"1000", mark}, QuorumMax: -1}
	byName := track.ProcessConfig{Name: "s", Process: "sleep", QuorumMax: -1}
	count := func(c track.ProcessConfig) int {
		list, err := ProcFS{}.Processes()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range list {
			if c.Matches(p) {
				n++
			}
		}
		return n
	}
	if n := count(cfg); n != 1 {
		t.Errorf("%d processes match sleep 1000 %s, want 1", n, mark)
	}
	if n := count(byName); n < 1 {
		t.Errorf("%d processes named sleep", n)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if n := count(cfg); n != 0 {
		t.Errorf("%d processes match after the kill", n)
	}
}
