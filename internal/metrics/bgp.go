package metrics

import (
	"net/netip"
	"time"

	"github.com/lvs-ha/lvs-ha/bgp"
)

// BGPSource is bgp_speaker's state for /status: the speaker's (its own
// metrics are registered by package bgp) and the announce gate's.
type BGPSource interface {
	BGPState() BGPState
}

// BGPFunc adapts a function to BGPSource.
type BGPFunc func() BGPState

// BGPState calls f.
func (f BGPFunc) BGPState() BGPState { return f() }

// BGPState is the speaker (nil in route-only mode) and every configured
// prefix's gate state.
type BGPState struct {
	// Mode is "speaker" or "route_only" (Interface then names the
	// interface the announced VIPs are put on).
	Mode      string      `json:"mode"`
	Interface string      `json:"interface,omitempty"`
	Speaker   *bgp.Status `json:"speaker,omitempty"`
	Prefixes  []BGPPrefix `json:"prefixes"`
}

// BGPPrefix is one VIP of a virtual server with bgp_announce: the gate's
// input and what was last done.
type BGPPrefix struct {
	Prefix    netip.Prefix `json:"prefix"`
	Eligible  bool         `json:"eligible"`
	Announced bool         `json:"announced"`
	// Reason explains Eligible.
	Reason string `json:"reason"`
	// Since is when Announced last changed (zero: never announced).
	Since time.Time `json:"since,omitzero"`
	// Error is the last announce/withdraw failure, if any.
	Error string `json:"error,omitempty"`
}
