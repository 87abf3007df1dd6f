// Package vrrp is the pure core of lvs-ha's VRRP, wire- and
// behaviour-compatible with keepalived: the VRRPv2/v3 codec (Marshal,
// Decode), the protocol state machine of one instance (Machine) and
// keepalived's sync groups (SyncGroup). It does no I/O, reads no clock and
// starts no goroutine; the runner (package vrrp/runner) feeds a Machine
// events with Step and carries out the actions it returns:
//
//	m, err := vrrp.NewMachine(opts)
//	acts := m.Step(now, vrrp.Startup{})
//	// when m.NextDeadline() is reached: acts = m.Step(now, vrrp.Tick{})
//	// on a packet: d, err := vrrp.Decode(payload, rx, m.Expect(rx.Src))
//	//              acts = m.Step(now, vrrp.AdvertReceived{Advertisement: d.Advertisement, From: rx.Src})
package vrrp
