// Package runner runs lvs-ha's VRRP instances: it owns their sockets, VIPs,
// virtual routes and rules, gratuitous ARPs, trackers and notify scripts,
// and carries out what the pure vrrp.Machine and vrrp.SyncGroup decide. One
// goroutine owns all of that state; I/O goes through small interfaces
// (io.go) so that tests run it against fakes. Runner.Update applies a
// reloaded configuration as a plan computed purely from the old and the new
// one (plan.go).
package runner
