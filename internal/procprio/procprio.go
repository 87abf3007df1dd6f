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

// Realtime sets SCHED_RR scheduling (the process's threads).
type Realtime struct{}

// SetRealtime switches every thread of the process to SCHED_RR at priority
// prio (1..99) with SCHED_RESET_ON_FORK, so that scripts started later
// run with normal scheduling, as keepalived does.
func (Realtime) SetRealtime(prio int) error {
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
