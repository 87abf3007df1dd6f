package vrrp

import (
	"errors"
	"fmt"
)

// Reason classifies why a received packet was rejected. Its String form is a
// stable snake_case name meant for metric labels; the names follow keepalived's
// statistics vocabulary (packet_len_err, ip_ttl_err, invalid_type_rcvd,
// addr_list_err, invalid_authtype, authtype_mismatch, auth_failure, and the
// RFC 6527 MIB's checksum/version/vrid error counters).
type Reason uint8

// Reasons for rejecting a received packet.
const (
	ReasonNone             Reason = iota // not a VRRP rejection
	ReasonPacketLength                   // "packet_length": shorter/longer than header, addresses and auth data
	ReasonInvalidTTL                     // "invalid_ttl": IPv4 TTL / IPv6 hop limit is not 255 (multicast) or outside a unicast peer's min_ttl..max_ttl
	ReasonVersion                        // "version": version is not the instance's (or not 2/3 at all)
	ReasonInvalidType                    // "invalid_type": type is not 1 (advertisement)
	ReasonChecksum                       // "checksum": no accepted checksum form matches
	ReasonVRID                           // "vrid": VRID is not the instance's
	ReasonAdvertInterval                 // "advert_interval": VRRPv2 interval differs from ours
	ReasonAddressList                    // "address_list": address list mismatch (when rejecting), or unicast/multicast destination mismatch
	ReasonAuthType                       // "auth_type": VRRPv2 auth type unknown or unsupported (AH)
	ReasonAuthTypeMismatch               // "auth_type_mismatch": VRRPv2 auth type differs from ours
	ReasonAuthFailure                    // "auth_failure": VRRPv2 password differs
	ReasonAddressFamily                  // "address_family": IP family is not the instance's
	ReasonUnicastSource                  // "unicast_source": source is not a configured unicast peer
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:             "none",
	ReasonPacketLength:     "packet_length",
	ReasonInvalidTTL:       "invalid_ttl",
	ReasonVersion:          "version",
	ReasonInvalidType:      "invalid_type",
	ReasonChecksum:         "checksum",
	ReasonVRID:             "vrid",
	ReasonAdvertInterval:   "advert_interval",
	ReasonAddressList:      "address_list",
	ReasonAuthType:         "auth_type",
	ReasonAuthTypeMismatch: "auth_type_mismatch",
	ReasonAuthFailure:      "auth_failure",
	ReasonAddressFamily:    "address_family",
	ReasonUnicastSource:    "unicast_source",
}

// String returns the stable metric-label name of r.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Reasons lists every rejection reason (without ReasonNone), e.g. to
// pre-create metric series.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Error is a rejected packet. Callers branch on Reason; Detail is for logs.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "vrrp: " + e.Reason.String()
	}
	return "vrrp: " + e.Reason.String() + ": " + e.Detail
}

// Is reports whether target is an *Error with the same Reason and no Detail,
// so errors.Is(err, &vrrp.Error{Reason: vrrp.ReasonChecksum}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Detail == ""
}

// ReasonOf returns the Reason carried by err (wrapped or not), or ReasonNone.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonNone
}

func reject(r Reason, format string, args ...any) error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
