package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Errors matched with errors.Is.
var (
	// ErrInvalid marks an Address that cannot be applied as given.
	ErrInvalid = errors.New("invalid virtual address")
	// ErrNoDevice means that the address's device does not exist.
	ErrNoDevice = errors.New("no such device")
)

// Error reports a failed operation on one address.
type Error struct {
	Op   string       // "add", "remove", "lookup" or "validate"
	Addr netip.Prefix // the address with its prefix length
	Dev  string       // the device
	Err  error
}

func (e *Error) Error() string {
	dev := e.Dev
	if dev == "" {
		dev = `""`
	}
	return fmt.Sprintf("vip: %s %s dev %s: %v", e.Op, e.Addr, dev, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Scope is an address scope (RT_SCOPE_*), as in `ip addr add ... scope SCOPE`.
type Scope uint8

// Named scopes (iproute2's rt_scopes).
const (
	ScopeGlobal  Scope = 0
	ScopeSite    Scope = 200
	ScopeLink    Scope = 253
	ScopeHost    Scope = 254
	ScopeNowhere Scope = 255
)

var scopeNames = map[Scope]string{
	ScopeGlobal: "global", ScopeSite: "site", ScopeLink: "link", ScopeHost: "host", ScopeNowhere: "nowhere",
}

// String returns the scope's name, or its number when it has none.
func (s Scope) String() string {
	if n, ok := scopeNames[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// ParseScope parses a scope name (global, site, link, host, nowhere) or a number
// from 0 to 255.
func ParseScope(s string) (Scope, error) {
	for v, n := range scopeNames {
		if s == n {
			return v, nil
		}
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%w: scope %q is neither global, site, link, host, nowhere nor a number 0-255", ErrInvalid, s)
	}
	return Scope(n), nil
}

// Forever is the lifetime that never expires (INFINITY_LIFE_TIME).
const Forever uint32 = 0xffffffff

// maxIfNameLen is IFNAMSIZ-1, the longest interface name or address label.
const maxIfNameLen = 15

// Address is one virtual address and its keepalived options.
type Address struct {
	// Prefix is the address and its prefix length (host bits kept, e.g.
	// 192.0.2.10/24).
	Prefix netip.Prefix
	// Dev is the device to put the address on. keepalived defaults it to the VRRP
	// instance's interface; the caller fills that in.
	Dev string
	// Broadcast is the IPv4 broadcast address ("brd"); none when zero, as in
	// keepalived (no automatic "brd +"; conf resolves "brd +" and "brd -").
	Broadcast netip.Addr
	// Scope is the IPv4 address scope ("scope"); global when zero.
	Scope Scope
	// Label is the IPv4 address label ("label"); it must start with Dev (kernel
	// rule, e.g. "eth0:vip").
	Label string
	// Peer is the address of the other end of a point-to-point link ("peer").
	Peer netip.Addr
	// DAD keeps IPv6 duplicate address detection (keepalived's "-nodad", which,
	// confusingly, turns nodad off); by default IPv6 addresses are added with
	// IFA_F_NODAD, so they are usable at once and a transient split brain cannot
	// leave them "dadfailed".
	DAD bool
	// Home, MngTmpAddr, NoPrefixRoute and AutoJoin set IFA_F_HOMEADDRESS,
	// IFA_F_MANAGETEMPADDR, IFA_F_NOPREFIXROUTE and IFA_F_MCAUTOJOIN.
	Home, MngTmpAddr, NoPrefixRoute, AutoJoin bool
	// PreferredLft is the preferred lifetime in seconds ([Forever] for none). When
	// nil: 0 (deprecated) for IPv6 /128 addresses, so that local connections do not
	// pick the VIP as their source address, forever otherwise.
	PreferredLft *uint32
}

// Validate checks a without touching the system. Errors are *Error matching
// ErrInvalid.
func (a Address) Validate() error {
	if err := a.validate(); err != nil {
		return &Error{Op: "validate", Addr: a.Prefix, Dev: a.Dev, Err: fmt.Errorf("%w: %s", ErrInvalid, err)}
	}
	return nil
}

func (a Address) validate() error {
	p := a.Prefix
	if !p.IsValid() {
		return errors.New("no address")
	}
	ip := p.Addr()
	switch {
	case ip.Zone() != "":
		return fmt.Errorf("address %s has a zone", ip)
	case ip.Is4In6():
		return fmt.Errorf("address %s is IPv4-mapped; use the IPv4 form", ip)
	case ip.IsUnspecified(), ip.IsMulticast():
		return fmt.Errorf("address %s is not a unicast address", ip)
	}
	if a.Dev == "" {
		return errors.New("no device")
	}
	if len(a.Dev) > maxIfNameLen || strings.ContainsAny(a.Dev, "/ \t\n\x00") {
		return fmt.Errorf("device name %q is not a valid interface name", a.Dev)
	}
	if a.Broadcast.IsValid() && (!ip.Is4() || !a.Broadcast.Is4()) {
		return fmt.Errorf("broadcast %s: only IPv4 addresses have a broadcast address", a.Broadcast)
	}
	if a.Broadcast.IsValid() && a.Peer.IsValid() {
		return errors.New("broadcast and peer are exclusive")
	}
	if a.Peer.IsValid() && (a.Peer.Is4() != ip.Is4() || a.Peer.Zone() != "") {
		return fmt.Errorf("peer %s is not of the address's family", a.Peer)
	}
	if ip.Is6() {
		if a.Scope != ScopeGlobal {
			return fmt.Errorf("scope %s: IPv6 addresses take their scope from the address", a.Scope)
		}
		if a.Label != "" {
			return fmt.Errorf("label %q: only IPv4 addresses have labels", a.Label)
		}
	}
	if a.Label != "" {
		if len(a.Label) > maxIfNameLen {
			return fmt.Errorf("label %q longer than %d bytes", a.Label, maxIfNameLen)
		}
		if !strings.HasPrefix(a.Label, a.Dev) {
			return fmt.Errorf("label %q must start with the device name %q", a.Label, a.Dev)
		}
	}
	return nil
}

// String formats a like `ip addr` / keepalived's configuration dump.
func (a Address) String() string {
	var b strings.Builder
	b.WriteString(a.Prefix.String())
	if a.Peer.IsValid() {
		fmt.Fprintf(&b, " peer %s", a.Peer)
	}
	if a.Broadcast.IsValid() {
		fmt.Fprintf(&b, " brd %s", a.Broadcast)
	}
	fmt.Fprintf(&b, " dev %s scope %s", a.Dev, a.Scope)
	if a.Label != "" {
		fmt.Fprintf(&b, " label %s", a.Label)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{
		{a.Home, "home"}, {a.DAD && a.Prefix.Addr().Is6(), "-nodad"}, {a.MngTmpAddr, "mngtmpaddr"},
		{a.NoPrefixRoute, "noprefixroute"}, {a.AutoJoin, "autojoin"},
	} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if a.PreferredLft != nil {
		if *a.PreferredLft == Forever {
			b.WriteString(" preferred_lft forever")
		} else {
			fmt.Fprintf(&b, " preferred_lft %d", *a.PreferredLft)
		}
	}
	return b.String()
}
