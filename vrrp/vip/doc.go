// Package vip adds and removes VRRP virtual addresses on interfaces with rtnetlink,
// with the options of keepalived's virtual_ipaddress entries ([Address]); it parses
// no configuration. A [Manager] works in the network namespace of the thread calling
// it and needs CAP_NET_ADMIN.
package vip
