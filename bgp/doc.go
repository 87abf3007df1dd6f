// Package bgp is lvs-ha's BGP speaker for active-active directors: it embeds
// GoBGP (github.com/osrg/gobgp/v4, pkg/server) behind a small interface and
// announces the VIPs of this director as host routes (/32, /128) to one or
// more routers, which spread flows over the directors with ECMP.
//
// The speaker only announces: every route a peer sends is rejected by a
// default import policy of reject, graceful restart is off (a dead director's
// routes must go at once), and no gRPC API is started. The next hop of an
// announced prefix is the local address of each session (next hop self).
// Neighbors can use TCP MD5, eBGP multihop, a non-standard port, passive mode
// and GoBGP's BFD.
//
// [Speaker] is the I/O shell: [New] validates [Options], [Speaker.Run] owns
// the GoBGP server until its context ends, [Speaker.Announce] and
// [Speaker.Withdraw] change the announced set (idempotently, from any
// goroutine), [Speaker.Update] reloads neighbors without resetting sessions
// whose settings did not change, and [Speaker.Status] reports peers and
// prefixes for `lvs-ha status`. Consumers depend on [Announcer].
//
// [Gate] is the pure, clock-injected core that decides when a VIP is
// announced: after it has been eligible (programmed in IPVS with enough
// healthy real servers) for the announce delay, and withdrawn at once when it
// is not.
//
// GoBGP notes (v4.8.0): [Speaker.Run] bridges GoBGP's slog logging at Warn
// and above (it logs each FSM step at Info); GoBGP's StartBgp writes package
// globals, so run one speaker per process (stop the old one before starting
// a new one); a session that drops stays idle 5 s (GoBGP's fixed idle hold)
// before it is tried again; GoBGP's BFD listens on UDP port 3784 on every
// address once a neighbor has BFD (single-hop, TTL 255, RFC 5881) and resets
// the BGP session when BFD's detection time expires. The listening TCP
// socket (port 179, CAP_NET_BIND_SERVICE) exists only with a passive
// neighbor; otherwise every session is opened by us.
//
// The package imports neither conf nor any other lvs-ha component; the daemon
// translates keepalived.conf's bgp_speaker block into [Options].
package bgp
