package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Options configure a [Speaker].
type Options struct {
	// RouterID is the BGP identifier: an IPv4 address, required.
	RouterID netip.Addr
	// LocalAS is our autonomous system number (1..4294967295).
	LocalAS uint32
	// Neighbors are the BGP peers, each address at most once.
	Neighbors []Neighbor
}

// Neighbor is one BGP peer.
type Neighbor struct {
	Address      netip.Addr
	RemoteAS     uint32
	Port         uint16        // 0 = 179
	HoldTime     time.Duration // 0 = 90 s; keepalive = HoldTime/3
	Password     string        // TCP MD5, "" = none
	Passive      bool
	EBGPMultihop uint8      // 0 = off (TTL 1 for eBGP)
	LocalAddress netip.Addr // optional source address
	BFD          *BFD       // nil = off
}

// BFD configures GoBGP's BFD for a neighbor; zero values take GoBGP's
// defaults.
type BFD struct {
	MinTx, MinRx time.Duration
	Multiplier   uint8
}

// DefaultHoldTime is the hold time of a neighbor that sets none.
const DefaultHoldTime = 90 * time.Second

// Validate reports every problem of o (joined), each naming the field and
// the neighbor: "neighbor 10.0.0.1: hold_time 2s: must be ...".
func (o Options) Validate() error {
	var errs []error
	if !o.RouterID.IsValid() {
		errs = append(errs, errors.New("router_id: missing"))
	} else if !o.RouterID.Is4() {
		errs = append(errs, fmt.Errorf("router_id %s: must be an IPv4 address", o.RouterID))
	}
	if o.LocalAS == 0 {
		errs = append(errs, errors.New("local_as: missing or 0"))
	}
	seen := map[netip.Addr]bool{}
	for i, n := range o.Neighbors {
		if !n.Address.IsValid() {
			errs = append(errs, fmt.Errorf("neighbor %d: address missing", i+1))
			continue
		}
		name := "neighbor " + n.Address.String()
		if n.Address.Zone() != "" || n.Address.Is4In6() {
			errs = append(errs, fmt.Errorf("%s: zoned and IPv4-mapped addresses are not supported", name))
		}
		if seen[n.Address.Unmap()] {
			errs = append(errs, fmt.Errorf("%s: duplicate neighbor", name))
		}
		seen[n.Address.Unmap()] = true
		if n.RemoteAS == 0 {
			errs = append(errs, fmt.Errorf("%s: remote_as missing or 0", name))
		}
		if n.HoldTime != 0 && (n.HoldTime < 3*time.Second || n.HoldTime > 65535*time.Second) {
			errs = append(errs, fmt.Errorf("%s: hold_time %s: must be 0 (default %s) or 3..65535 s", name, n.HoldTime, DefaultHoldTime))
		} else if n.HoldTime%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s: hold_time %s: must be whole seconds", name, n.HoldTime))
		}
		if n.EBGPMultihop != 0 && n.RemoteAS == o.LocalAS {
			errs = append(errs, fmt.Errorf("%s: ebgp_multihop with remote_as %d = local_as (iBGP)", name, n.RemoteAS))
		}
		if n.LocalAddress.IsValid() && n.LocalAddress.Unmap().Is4() != n.Address.Unmap().Is4() {
			errs = append(errs, fmt.Errorf("%s: local_address %s: address family differs from the neighbor's", name, n.LocalAddress))
		}
		if len(n.Password) > 80 {
			errs = append(errs, fmt.Errorf("%s: password longer than 80 bytes (TCP MD5 key limit)", name))
		}
		if b := n.BFD; b != nil {
			if b.MinTx < 0 || b.MinRx < 0 {
				errs = append(errs, fmt.Errorf("%s: bfd: negative interval", name))
			}
			if b.MinTx%time.Microsecond != 0 || b.MinRx%time.Microsecond != 0 {
				errs = append(errs, fmt.Errorf("%s: bfd: intervals must be whole microseconds", name))
			}
		}
	}
	return errors.Join(errs...)
}
