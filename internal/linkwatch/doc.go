// Package linkwatch tells, without waiting, whether any link of a network
// namespace changed since it last looked: a non-blocking rtnetlink socket
// joined to RTNLGRP_LINK. garp's Announcer and vip's address manager keep
// what they looked up about an interface (index, flags, hardware address,
// prebuilt frames and requests) until their watch reports a change.
package linkwatch
