// Package netlab is a test harness that builds small virtual Ethernet segments out of
// Linux network namespaces, so that lvs-ha directors, keepalived peers, clients and
// real servers can run as real processes against the host kernel (or the kernel of
// the test VM).
//
// A [Lab] owns one "switch" namespace holding a Linux bridge (br0, no addresses, IPv6
// disabled, multicast snooping off so VRRP multicast is flooded). Every [Node] is a
// namespace joined to that bridge by a veth pair whose node side is called eth0; lo is
// up, IPv6 DAD is off and keep_addr_on_down is on. All plumbing uses netlink from Go, so
// neither iproute2 nor `ip netns exec` is needed (the VM tier has busybox only).
//
// Namespaces are named "lh<pid>-<rand>-<node>" and bind-mounted under /run/netns, so
// humans can inspect a running lab with `ip netns exec` and so [Sweep] can remove the
// leftovers of a test binary that died (its PID is no longer alive). Teardown runs from
// t.Cleanup even when the test fails; [Main] adds a start-up sweep and a SIGINT/SIGTERM
// handler that tears down every live lab before exiting.
//
// Running code in a node:
//
//   - [Node.Do] runs a Go function on an OS thread switched into the node's namespace.
//     Sockets created there stay in that namespace and may be used from any goroutine
//     afterwards; goroutines started by the function do not inherit the namespace.
//   - [Node.Command] returns an *exec.Cmd that runs in the namespace however it is
//     started (Run, Output, Start): it re-executes the test binary, which enters the
//     namespace in this package's init function and then execs the real program.
//   - [Node.Start] starts a long-running process with stdout and stderr in a per-test
//     log file; it is killed (with its process group) at teardown, and its log tail is
//     printed when the test failed.
//
// Everything needs root; [New] skips the test otherwise, or fails it when
// LVSHA_REQUIRE_ROOT_TESTS=1. Addresses come from the documentation ranges
// (192.0.2.0/24 and 2001:db8::/64 by default) and traffic stays inside the lab.
package netlab
