package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// TestVRRPRealtimeAndNoSwap: with vrrp_rt_priority 10 and vrrp_no_swap the
// thread that runs the VRRP advert path (the one waiting in ppoll) is
// SCHED_RR at priority 10, and the daemon's memory is locked (VmLck > 0).
// About 2 s.
func TestVRRPRealtimeAndNoSwap(t *testing.T) {
	v := newVRRPLab(t, 1)
	inst := fastInst(100)
	inst.State = "MASTER"
	d := newDirector(t, implLVSHA, v.nodes[0], vrrpConfig{Instances: []vrrpInst{inst},
		GlobalExtra: []string{"vrrp_rt_priority 10", "vrrp_no_swap"}})
	d.start()
	d.mustState("MASTER", 0)
	pid := d.proc.Pid()

	var found string
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return false, err
		}
		for _, e := range ents {
			sc, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, e.Name()))
			if err != nil || strings.Fields(string(sc))[0] != strconv.Itoa(unix.SYS_PPOLL) {
				continue
			}
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
			if err != nil {
				continue
			}
			s := string(st)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
			found = "policy " + f[41-3] + " rt_priority " + f[40-3]
			return found == "policy 2 rt_priority 10", nil
		}
		return false, nil
	}, func() string { return fmt.Sprintf("a thread in ppoll with SCHED_RR 10 (last seen: %q)", found) })
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmLck:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if kb == 0 {
				t.Errorf("VmLck %s: memory not locked (vrrp_no_swap)", strings.TrimSpace(v))
			}
			return
		}
	}
	t.Error("no VmLck in /proc/PID/status")
}

// TestVRRPSchedSlice: by default every thread of the daemon asks the fair
// scheduler for 100 us slices (vrrp_sched_slice), vrrp_sched_slice 2000 for
// 2 ms ones, and vrrp_sched_slice 0 leaves the kernel's default (the test
// process's own). Skipped on a kernel before 6.12, which reports no slice.
// About 3 s.
func TestVRRPSchedSlice(t *testing.T) {
	own, err := unix.SchedGetAttr(0, 0)
	if err != nil || own.Runtime == 0 {
		t.Skipf("the kernel reports no fair-scheduler slice (Linux 6.12+): %+v %v", own, err)
	}
	v := newVRRPLab(t, 3)
	for i, tc := range []struct {
		extra []string
		want  uint64 // ns
	}{
		{nil, 100_000},
		{[]string{"vrrp_sched_slice 2000"}, 2_000_000},
		{[]string{"vrrp_sched_slice 0"}, own.Runtime},
	} {
		d := newDirector(t, implLVSHA, v.nodes[i], vrrpConfig{Instances: []vrrpInst{fastInst(100 + i)}, GlobalExtra: tc.extra})
		d.start()
		d.mustState("MASTER", 0)
		pid := d.proc.Pid()
		var last string
		err := netlab.WaitFor(eventTimeout, func() (bool, error) {
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			if err != nil {
				return false, err
			}
			var slices []uint64
			for _, e := range ents {
				tid, _ := strconv.Atoi(e.Name())
				if a, err := unix.SchedGetAttr(tid, 0); err == nil {
					slices = append(slices, a.Runtime)
				}
			}
			last = fmt.Sprint(slices)
			for _, s := range slices {
				if s != tc.want {
					return false, nil
				}
			}
			return len(slices) > 0, nil
		}, func() string {
			return fmt.Sprintf("%v: every thread's slice %d ns (last seen: %s)", tc.extra, tc.want, last)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
