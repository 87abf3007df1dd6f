// Package procprio changes the scheduling of the whole lvs-ha process, as
// keepalived's set_process_priorities does for its VRRP process. Linux
// schedules threads, so every thread of the process is changed.
package procprio

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Process changes the scheduling and memory locking of the process.
type Process struct{}

// SetNice sets the nice value of every thread of the process
// (keepalived vrrp_priority).
func (Process) SetNice(nice int) error {
	return eachThread(func(tid int) error { return unix.Setpriority(unix.PRIO_PROCESS, tid, nice) })
}

// LockMemory locks the process's memory, current and future pages, as
// keepalived's vrrp_no_swap (MCL_ONFAULT: pages are locked as they are
// touched).
func (Process) LockMemory() error {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("procprio: mlockall: %w", err)
	}
	return nil
}

// SetRealtime switches every thread of the process to SCHED_RR at priority
// prio (1..99) with SCHED_RESET_ON_FORK, so that scripts started later
// run with normal scheduling, as keepalived does.
func (Process) SetRealtime(prio int) error {
	attr := unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   unix.SCHED_RR,
		Priority: uint32(prio),
		Flags:    unix.SCHED_FLAG_RESET_ON_FORK,
	}
	return eachThread(func(tid int) error { return unix.SchedSetAttr(tid, &attr, 0) })
}

// ErrSliceUnsupported is SetSlice's error on a kernel that does not take a
// slice for normal (SCHED_OTHER) threads: before Linux 6.12 (EEVDF's
// sched_attr.sched_runtime) the request is accepted and ignored.
// It wraps errors.ErrUnsupported.
var ErrSliceUnsupported = fmt.Errorf("procprio: the kernel ignores a scheduler slice for SCHED_OTHER threads (Linux 6.12 or later takes one): %w", errors.ErrUnsupported)

// SetSlice asks the kernel's fair scheduler (EEVDF) for slices of slice
// (sched_attr.sched_runtime; the kernel clamps it to 0.1..100 ms) for every
// thread of the process that is SCHED_OTHER or SCHED_BATCH, keeping its
// policy, nice value and flags; realtime threads are left alone. A shorter
// slice is not a larger share of the CPU (that is the nice value): it
// brings a woken thread's virtual deadline earlier, so that it preempts a
// thread with a longer slice instead of waiting for that thread's slice to
// end, and it is preempted sooner in turn. Threads created later inherit
// it. On a kernel that ignores the request (before 6.12) SetSlice changes
// nothing and returns ErrSliceUnsupported.
func (Process) SetSlice(slice time.Duration) error {
	if slice <= 0 {
		return fmt.Errorf("procprio: slice %v: want a positive slice", slice)
	}
	seen := false
	err := eachThread(func(tid int) error {
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			return err
		}
		if attr.Policy != unix.SCHED_NORMAL && attr.Policy != unix.SCHED_BATCH {
			return nil
		}
		attr.Size = unix.SizeofSchedAttr
		attr.Runtime = uint64(slice.Nanoseconds())
		attr.Flags &= unix.SCHED_FLAG_RESET_ON_FORK
		if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
			return err
		}
		if !seen {
			seen = true
			// The kernel reports the slice it keeps; one that ignores
			// the request reports none.
			if got, err := unix.SchedGetAttr(tid, 0); err == nil && got.Runtime == 0 {
				return ErrSliceUnsupported
			}
		}
		return nil
	})
	if errors.Is(err, ErrSliceUnsupported) {
		return ErrSliceUnsupported
	}
	return err
}

// eachThread calls f once for every thread of the process, also for
// threads started while it runs: a thread inherits its scheduling from
// the thread that starts it, so one started by a thread f had not reached
// yet would keep the old settings for good (TestVRRPSchedSlice saw two
// such threads with the kernel's slice). It lists the threads again until
// a listing shows none it has not seen, at most maxThreadPasses times.
// Threads that exit meanwhile are skipped.
func eachThread(f func(tid int) error) error {
	seen := map[int]bool{}
	for range maxThreadPasses {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("procprio: %w", err)
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || seen[tid] {
				continue
			}
			seen[tid], fresh = true, true
			if err := f(tid); err != nil && err != unix.ESRCH {
				return fmt.Errorf("procprio: thread %d: %w", tid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return nil
}

// maxThreadPasses bounds eachThread's listings: the Go runtime starts its
// threads a few at a time, not without end.
const maxThreadPasses = 16
