// Package vip adds and removes virtual IP addresses (VRRP VIPs) on interfaces with
// rtnetlink, honouring the options of keepalived's virtual_ipaddress entries:
//
//	<IPADDR>[/<MASK>] [brd <IPADDR>|+|-] [dev <STRING>] [scope <SCOPE>]
//	    [label <LABEL>] [peer <IPADDR>] [home] [-nodad] [mngtmpaddr]
//	    [noprefixroute] [autojoin] [preferred_lft <N>|forever]
//
// An [Address] carries those options in typed form; this package never parses
// configuration files (the caller maps its own model onto Address, using
// [ParsePrefix], [ParseScope] and [DeriveBroadcast] for the textual forms). As in
// keepalived:
//
//   - an address without a prefix length is a host address (/32 or /128);
//   - IPv4 addresses get a broadcast address only when one is given (no automatic
//     "brd +"); scope and label apply to IPv4 only, and a label must start with the
//     device name (kernel rule, e.g. "eth0:vip");
//   - IPv6 addresses are added with IFA_F_NODAD, so they are usable at once and a
//     transient split brain cannot leave them "dadfailed", unless DAD is requested
//     (keepalived's "-nodad" keyword, confusingly, turns nodad off);
//   - IPv6 /128 addresses are added deprecated (preferred lifetime 0) unless a
//     preferred lifetime is given, so that local connections do not pick the VIP as
//     their source address.
//
// Add and Remove are idempotent: adding an address that is already on the device, or
// removing one that is not (or whose device is gone), succeeds without change. Errors
// are *[Error] values naming the operation, the address and the device; they match
// [ErrInvalid] for a bad Address and [ErrNoDevice] when the device does not exist.
//
// A [Manager] works in one network namespace: [New] uses the namespace of the calling
// thread at each call, [NewAt] a fixed one. The package-level [Add], [Remove] and
// [Present] use the calling thread's namespace. Changing addresses needs
// CAP_NET_ADMIN; the tests that do so build their own network namespace and need
// root: they skip otherwise, or fail when LVSHA_REQUIRE_ROOT_TESTS=1.
package vip
