// Package procprio changes the scheduling of the whole lvs-ha process, as
// keepalived's set_process_priorities does for its VRRP process. Linux
// schedules threads, so every thread of the process is changed.
package procprio

import (
	"fmt"
	"os"
	"strconv"

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

// eachThread calls f for every thread of the process; threads that exit
// meanwhile are skipped.
func eachThread(f func(tid int) error) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("procprio: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := f(tid); err != nil && err != unix.ESRCH {
			return fmt.Errorf("procprio: thread %d: %w", tid, err)
		}
	}
	return nil
}
