package bgplab

import (
	"fmt"
	"net/netip"
	"strings"
)

// Defaults for [RouterOptions] and [SpeakerOptions].
const (
	DefaultRouterAS  = 65000
	DefaultSpeakerAS = 65101
	DefaultHoldTime  = 9
)

// BFD holds BFD session timers. The zero value means BFD off.
type BFD struct {
	MinTxMS, MinRxMS int // intervals in milliseconds (default 100)
	Multiplier       int // missed packets before the session is down (default 3)
}

// On reports whether BFD is configured.
func (b BFD) On() bool { return b != BFD{} }

// Detection returns the BFD detection time the router applies to a peer that
// sends at the same intervals: multiplier × max(min_rx, peer's min_tx).
func (b BFD) Detection() (ms int) {
	b = b.filled()
	return b.Multiplier * max(b.MinRxMS, b.MinTxMS)
}

func (b BFD) filled() BFD {
	if b.MinTxMS == 0 {
		b.MinTxMS = 100
	}
	if b.MinRxMS == 0 {
		b.MinRxMS = 100
	}
	if b.Multiplier == 0 {
		b.Multiplier = 3
	}
	return b
}

// Peer is one eBGP neighbor of the router (a director).
type Peer struct {
	Name     string     // BIRD protocol name; default "d<index+1>"
	Addr     netip.Addr // the director's address on the shared segment
	AS       uint32     // default DefaultSpeakerAS
	HoldTime int        // seconds; default RouterOptions.HoldTime
	BFD      bool       // "bfd on" for this session (needs RouterOptions.BFD)
}

// RouterOptions configures [StartRouter].
type RouterOptions struct {
	RouterID netip.Addr // default: the node's first IPv4 address
	AS       uint32     // default DefaultRouterAS
	HoldTime int        // default DefaultHoldTime (keepalive is a third of it)
	BFD      BFD        // timers of the BFD protocol; zero: no BFD protocol
	Peers    []Peer
	// MergeLimit caps the next hops of one merged route (default 16).
	MergeLimit int
}

func (o *RouterOptions) fill() error {
	if !o.RouterID.Is4() {
		return fmt.Errorf("router id %v: want an IPv4 address", o.RouterID)
	}
	if o.AS == 0 {
		o.AS = DefaultRouterAS
	}
	if o.HoldTime == 0 {
		o.HoldTime = DefaultHoldTime
	}
	if o.MergeLimit == 0 {
		o.MergeLimit = 16
	}
	if len(o.Peers) == 0 {
		return fmt.Errorf("no peers")
	}
	seen := map[string]bool{}
	for i := range o.Peers {
		p := &o.Peers[i]
		if p.Name == "" {
			p.Name = fmt.Sprintf("d%d", i+1)
		}
		if seen[p.Name] {
			return fmt.Errorf("peer %d: duplicate name %q", i, p.Name)
		}
		seen[p.Name] = true
		if !p.Addr.Is4() {
			return fmt.Errorf("peer %s: address %v: want IPv4", p.Name, p.Addr)
		}
		if p.AS == 0 {
			p.AS = DefaultSpeakerAS
		}
		if p.HoldTime == 0 {
			p.HoldTime = o.HoldTime
		}
		if p.HoldTime < 3 {
			return fmt.Errorf("peer %s: hold time %d: BGP allows 0 or >= 3", p.Name, p.HoldTime)
		}
		if p.BFD && !o.BFD.On() {
			return fmt.Errorf("peer %s: bfd on without BFD timers", p.Name)
		}
	}
	return nil
}

// RouterConfig renders the router's bird.conf: kernel protocol exporting every
// route with "merge paths on" (equal BGP routes from several peers become one
// multipath route), an optional BFD protocol, and one eBGP session per peer that
// imports everything and exports nothing. o must have been filled.
func RouterConfig(o RouterOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# bgplab router (generated)\nlog stderr all;\nrouter id %s;\n", o.RouterID)
	b.WriteString("protocol device { scan time 10; }\n")
	fmt.Fprintf(&b, "protocol kernel {\n\tipv4 { import none; export all; };\n\tmerge paths on limit %d;\n\tscan time 10;\n}\n", o.MergeLimit)
	if o.BFD.On() {
		f := o.BFD.filled()
		fmt.Fprintf(&b, "protocol bfd {\n\tinterface \"*\" { min rx interval %d ms; min tx interval %d ms; multiplier %d; };\n}\n",
			f.MinRxMS, f.MinTxMS, f.Multiplier)
	}
	for _, p := range o.Peers {
		fmt.Fprintf(&b, "protocol bgp %s {\n\tlocal as %d;\n\tneighbor %s as %d;\n", p.Name, o.AS, p.Addr, p.AS)
		fmt.Fprintf(&b, "\thold time %d;\n\tkeepalive time %d;\n", p.HoldTime, max(1, p.HoldTime/3))
		b.WriteString("\tconnect retry time 1;\n\terror wait time 1, 4;\n")
		if p.BFD {
			b.WriteString("\tbfd on;\n")
		}
		b.WriteString("\tipv4 { import all; export none; };\n}\n")
	}
	return b.String()
}

// SpeakerOptions configures [StartSpeaker], a BIRD that stands in for a director:
// it announces Prefixes (as blackhole static routes, next hop itself) to the router.
type SpeakerOptions struct {
	RouterID   netip.Addr // default: the node's first IPv4 address
	AS         uint32     // default DefaultSpeakerAS
	RouterAddr netip.Addr
	RouterAS   uint32 // default DefaultRouterAS
	HoldTime   int    // default DefaultHoldTime
	BFD        BFD    // zero: no BFD
	Prefixes   []netip.Prefix
}

func (o *SpeakerOptions) fill() error {
	if !o.RouterID.Is4() || !o.RouterAddr.Is4() {
		return fmt.Errorf("router id %v, router address %v: want IPv4", o.RouterID, o.RouterAddr)
	}
	if o.AS == 0 {
		o.AS = DefaultSpeakerAS
	}
	if o.RouterAS == 0 {
		o.RouterAS = DefaultRouterAS
	}
	if o.HoldTime == 0 {
		o.HoldTime = DefaultHoldTime
	}
	for _, p := range o.Prefixes {
		if !p.Addr().Is4() {
			return fmt.Errorf("prefix %v: want IPv4", p)
		}
	}
	return nil
}

// SpeakerConfig renders a stand-in director's bird.conf. o must have been filled.
func SpeakerConfig(o SpeakerOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# bgplab speaker (generated)\nlog stderr all;\nrouter id %s;\n", o.RouterID)
	b.WriteString("protocol device { scan time 10; }\n")
	b.WriteString("protocol static {\n\tipv4;\n")
	for _, p := range o.Prefixes {
		fmt.Fprintf(&b, "\troute %s blackhole;\n", p.Masked())
	}
	b.WriteString("}\n")
	if o.BFD.On() {
		f := o.BFD.filled()
		fmt.Fprintf(&b, "protocol bfd {\n\tinterface \"*\" { min rx interval %d ms; min tx interval %d ms; multiplier %d; };\n}\n",
			f.MinRxMS, f.MinTxMS, f.Multiplier)
	}
	fmt.Fprintf(&b, "protocol bgp uplink {\n\tlocal as %d;\n\tneighbor %s as %d;\n", o.AS, o.RouterAddr, o.RouterAS)
	fmt.Fprintf(&b, "\thold time %d;\n\tkeepalive time %d;\n", o.HoldTime, max(1, o.HoldTime/3))
	b.WriteString("\tconnect retry time 1;\n\terror wait time 1, 4;\n")
	if o.BFD.On() {
		b.WriteString("\tbfd on;\n")
	}
	b.WriteString("\tipv4 { import none; export where source = RTS_STATIC; };\n}\n")
	return b.String()
}
