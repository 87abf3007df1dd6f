// Package bgplab is the router side of the active-active labs (issue 14): a
// namespace of an [netlab.Lab] running BIRD 2 as the upstream router, with one
// eBGP session per director, ECMP on (the kernel protocol's "merge paths") and
// net.ipv4.fib_multipath_hash_policy=1, so that the VIP /32 routes announced by
// N directors become one N-way multipath route in the router's FIB.
//
// BIRD runs in the foreground with its own configuration, control socket and pid
// file in a temporary directory (never the system's /etc/bird or /run/bird). The
// FIB is read over netlink in the router's namespace: [Router.Nexthops] returns
// the next hops of a prefix and [FIBWatch] records every change with a timestamp,
// which is what the drills measure a fault against. [StartSpeaker] starts a BIRD
// that only announces prefixes, a stand-in director used to test the harness
// without lvs-ha. Everything needs root, like netlab.
package bgplab
