// Package vrrp is the pure core of lvs-ha's VRRP: the wire codec and the
// protocol state machine, wire- and behaviour-compatible with keepalived.
//
// Codec: Advertisement.Marshal encodes VRRPv2 (RFC 3768, IPv4, with
// keepalived's simple-password authentication) and VRRPv3 (RFC 5798 /
// RFC 9568, IPv4 and IPv6) adverts, computing the checksum (VRRPv3 with the
// IP pseudo-header, or without it over IPv4 like keepalived's
// v3_checksum_as_v2). Decode takes the bytes after the IP header with the IP
// source, destination and TTL/hop limit, and validates them for an instance
// the way keepalived's vrrp_check_packet does; a rejection is an *Error whose
// Reason has a stable metric-label name. Parse decodes without an instance.
//
// State machine: Machine follows RFC 5798 §6.4 (Initialize, Backup, Master)
// plus keepalived's Fault state, preempt_delay, tracker weights, extra
// adverts and gratuitous ARP timing. It is driven etcd-raft style:
//
//	m, err := vrrp.NewMachine(opts)
//	acts := m.Step(now, vrrp.Startup{})
//	// when m.NextDeadline() is reached: acts = m.Step(now, vrrp.Tick{})
//	// on a packet: d, err := vrrp.Decode(payload, rx, m.Expect())
//	//              acts = m.Step(now, vrrp.AdvertReceived{Advertisement: d.Advertisement, From: rx.Src})
//
// and the runner carries out the returned actions (SendAdvert, AddVIPs,
// RemoveVIPs, SendGARP, Notify, PriorityChanged) in order. The machine has
// no goroutines, sockets, clock or logging; SyncGroup couples machines the
// way keepalived's vrrp_sync_group does.
//
// Runner (runner*.go) is the I/O edge: one goroutine owns every machine,
// sync group, garp.Scheduler and tracker of a daemon and carries out their
// actions through small interfaces (Conn/ConnFactory over vrrp/vrrpsock,
// VIPManager over vrrp/vip, garp.Sender, ScriptRunner over internal/script,
// LinkWatcher over vrrp/track), so it runs against fakes and a fake clock in
// tests. Runner.Update (runner_update.go) applies a reloaded configuration
// on that goroutine, per instance: unchanged instances are not touched,
// changed ones keep their state (the Reconfigure event), removed ones shut
// down, new ones start. This package imports neither conf, ipvs nor
// healthcheck.
package vrrp
