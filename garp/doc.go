// Package garp announces VRRP virtual addresses to the local link when an instance
// becomes master, with keepalived's frames and timing: gratuitous ARPs for IPv4 and
// unsolicited neighbour advertisements for IPv6. [Scheduler] decides when (pure),
// [ARPFrame] and [NAFrame] build the frames, [Announcer] sends them and [Flush] joins
// the two. The Announcer keeps each interface's index, MAC and prebuilt frames
// between sends and forgets them all when its link watch (an RTNLGRP_LINK socket
// read before each send, as keepalived polls its netlink socket) reports any link
// change, so a takeover's announcement is one read and one write. It imports
// neither vrrp nor conf.
package garp
