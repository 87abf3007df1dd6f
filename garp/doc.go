// Package garp announces VRRP virtual addresses to the local link when an instance
// becomes master, with keepalived's frames and timing: gratuitous ARPs for IPv4 and
// unsolicited neighbour advertisements for IPv6. [Scheduler] decides when (pure),
// [ARPFrame] and [NAFrame] build the frames, [Announcer] sends them and [Flush] joins
// the two. It imports neither vrrp nor conf.
package garp
