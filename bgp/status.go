package bgp

import (
	"net/netip"
	"time"
)

// Status is the speaker's state for `lvs-ha status` and GET /status.
type Status struct {
	RouterID netip.Addr     `json:"router_id"`
	LocalAS  uint32         `json:"local_as"`
	Running  bool           `json:"running"` // GoBGP started and neighbors configured
	Peers    []PeerStatus   `json:"peers"`
	Prefixes []PrefixStatus `json:"prefixes"`
}

// PeerStatus is one neighbor's session.
type PeerStatus struct {
	Address  netip.Addr `json:"address"`
	RemoteAS uint32     `json:"remote_as"`
	// State is the BGP FSM state in lower case: idle, connect, active,
	// opensent, openconfirm, established (unknown before Run).
	State string `json:"state"`
	// Since is when the session became established (zero when it is not).
	Since time.Time `json:"since,omitzero"`
	// Uptime is now - Since for an established session, else 0.
	Uptime time.Duration `json:"uptime_ns"`
	// BFD is the BFD session state: "" (BFD off), admin_down, down, init, up.
	BFD string `json:"bfd,omitempty"`
	// Transitions counts the session's changes into and out of Established
	// since the neighbor was configured.
	Transitions uint64 `json:"transitions"`
	// LastDown is why the session last left Established, as GoBGP reports
	// it ("hold timer expired: ...", "peer down: ..."); empty before.
	LastDown string `json:"last_down,omitempty"`
}

// PrefixStatus is one prefix that was announced at least once.
type PrefixStatus struct {
	Prefix    netip.Prefix `json:"prefix"`
	Announced bool         `json:"announced"`
	Reason    string       `json:"reason"` // reason given with the last change
	Since     time.Time    `json:"since"`  // time of the last change
}
