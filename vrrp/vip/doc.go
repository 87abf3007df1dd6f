// Package vip adds and removes VRRP virtual addresses on interfaces with rtnetlink,
// with the options of keepalived's virtual_ipaddress entries ([Address]); it parses
// no configuration. A [Manager] from [New] works in the network namespace of the thread
// calling it, one from [NewHere] in the namespace it was created in; both need
// CAP_NET_ADMIN.
package vip
