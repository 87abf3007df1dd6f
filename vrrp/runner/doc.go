// Package runner runs lvs-ha's VRRP instances: it owns their sockets, VIPs,
// virtual routes and rules, gratuitous ARPs, trackers and notify scripts,
// and carries out what the pure vrrp.Machine and vrrp.SyncGroup decide. One
// goroutine owns all of that state; I/O goes through small interfaces
// (io.go) so that tests run it against fakes. Runner.Update applies a
// reloaded configuration as a plan computed purely from the old and the new
// one (plan.go).
//
// With real sockets that goroutine waits in ppoll(2) on the VRRP sockets and
// a timerfd armed for the next deadline, and reads, decides and sends on the
// thread that woke (poll.go): the advert path takes one thread wake-up, not
// the hand-offs of the Go netpoller, timers and channels. It passes through
// the Go scheduler once per round and, when a deadline is near, waits at
// most 9 ms, so that the runtime's sysmon neither takes its P in every wait
// nor preempts it; a wait with no deadline near (default adverts: a
// master's wait for its next advert, a backup's for its master down
// deadline until just before it) parks in the Go runtime's poller instead,
// its P idle, so that sysmon sleeps; it is locked to its OS thread only
// when realtime
// priority is configured (the priority belongs to that thread). The unit tests' fakes keep the channel loop and its fake clock.
// A new master's advert and first GARP leave before anything is logged.
package runner
