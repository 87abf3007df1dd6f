// Package gcpace paces the Go collector as GOGC does, without the runtime's
// forced collection every two minutes.
//
// The runtime starts a collection when the heap reaches its goal (GOGC) and,
// whatever the heap, when none has run for two minutes (forcegcperiod). A
// VRRP daemon's steady state allocates almost nothing, so nearly all its
// collections are the forced ones, and each stops the world: with the CPUs
// held by busy loops at a higher priority (nice -10), a stop-the-world that
// waits for a CPU stalled the advert path of lvs-ha's master for 47-128 ms,
// over a 10 ms advert's master-down interval (issue #15; integration/bench/
// why.txt). keepalived, written in C, has no collector.
//
// The runtime skips the forced collection only when GOGC is off. A Pacer
// turns it off and keeps the heap to GOGC's goal by a soft memory limit
// (debug.SetMemoryLimit) that it sets again after every collection, from
// the runtime's own figures (runtime/metrics): what is not heap plus the live
// heap plus GOGC's growth. The collections that allocation calls for still
// run at about GOGC's rate; the ones the clock calls for do not.
//
// An operator who sets GOGC in the environment keeps the runtime's own
// pacing (New returns nil); a GOMEMLIMIT still bounds the limit a Pacer sets.
package gcpace
