// Package vrrpsock sends and receives raw VRRP messages (IP protocol 112) over IPv4
// and IPv6 on one interface, the way keepalived does; see [Conn]. It works on bytes
// only: package vrrp encodes and decodes the payload. It needs CAP_NET_RAW.
package vrrpsock
