// Package vrrpsock sends and receives raw VRRP messages (IP protocol 112) over IPv4 and
// IPv6 on one interface. It works on bytes only: the VRRP payload is encoded and
// decoded by package vrrp, which this package does not import.
//
// One [Conn] serves one VRRP instance on one interface:
//
//   - the socket is bound to the interface (SO_BINDTODEVICE) and packets reported by
//     the kernel as arriving on another interface are dropped, so instances on
//     different interfaces never see each other's traffic;
//   - in multicast mode it joins the group (224.0.0.18 / ff02::12 unless configured,
//     keepalived's vrrp_mcast_group4/6) on that interface, with multicast loopback off
//     and IP_MULTICAST_ALL / IPV6_MULTICAST_ALL off, so it sees only groups it joined;
//     in unicast mode (peers configured, keepalived's unicast_peer) it joins nothing,
//     so it receives unicast VRRP packets only, and [Conn.Destinations] lists the
//     peers instead of the group;
//   - everything it sends has TTL / hop limit 255 (unicast and multicast) and traffic
//     class CS6 (0xc0), like keepalived;
//   - the source address is fixed when the Conn is opened: the configured one
//     (mcast_src_ip / unicast_src_ip), else the interface's primary IPv4 address or
//     its IPv6 link-local address (RFC 5798 section 5.1.2.1; a tentative one only if
//     there is no other, in which case sends fail until DAD completes; with none,
//     Open fails with [ErrNoSource] and may be retried). [Conn.SrcAddr] returns
//     it so that the caller can compute the VRRPv3 checksum pseudo-header before
//     encoding; each send pins it with IP_PKTINFO / IPV6_PKTINFO. The kernel never
//     computes or verifies the VRRP checksum (IPV6_CHECKSUM is left unset);
//   - [Conn.Recv] returns the payload without the IP header (parsed from the raw
//     IPv4 packet; the kernel strips it for IPv6) together with the source and
//     destination addresses, the received TTL / hop limit and the incoming interface
//     index, from the IPv4 header and from IP_PKTINFO / IPV6_PKTINFO and
//     IPV6_HOPLIMIT control messages.
//
// The socket is created in the network namespace of the calling OS thread, and the
// interface and its addresses are looked up there too. Afterwards the Conn may be
// used from any goroutine: Send may run concurrently with Recv; Recv is meant for a
// single reader. Close unblocks a pending Recv, which then returns an error matching
// net.ErrClosed; [Conn.SetReadDeadline] bounds a Recv (os.ErrDeadlineExceeded).
//
// Everything needs CAP_NET_RAW. The tests that open sockets build their own network
// namespaces and need root: they skip otherwise, or fail when
// LVSHA_REQUIRE_ROOT_TESTS=1.
package vrrpsock
