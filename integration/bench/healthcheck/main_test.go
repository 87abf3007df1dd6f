package main

import (
	"net"
	"testing"
	"time"
)

// TestRSIndex: the wildcard socket of daemon d counts a connection only
// to one of its own real servers, by local address.
func TestRSIndex(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		d, n int
		want int
	}{
		{&net.TCPAddr{IP: net.ParseIP(rsAddr(1, 0)), Port: 18081}, 1, 10, 0},
		{&net.TCPAddr{IP: net.ParseIP(rsAddr(1, 9)), Port: 18081}, 1, 10, 9},
		{&net.TCPAddr{IP: net.ParseIP(rsAddr(1, 9999)), Port: 18081}, 1, 10000, 9999},
		{&net.TCPAddr{IP: net.ParseIP(rsAddr(1, 10)), Port: 18081}, 1, 10, -1}, // beyond n
		{&net.TCPAddr{IP: net.ParseIP(rsAddr(2, 0)), Port: 18081}, 1, 10, -1},  // another daemon's
		{&net.TCPAddr{IP: net.ParseIP("127.1.0.0"), Port: 18081}, 1, 10, -1},
		{&net.TCPAddr{IP: net.ParseIP("127.1.0.251"), Port: 18081}, 1, 10000, -1},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 18081}, 1, 10, -1},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 18081}, 1, 10, -1},
		{&net.UnixAddr{Name: "x"}, 1, 10, -1},
	} {
		if got := rsIndex(c.addr, c.d, c.n); got != c.want {
			t.Errorf("rsIndex(%v, %d, %d) = %d, want %d", c.addr, c.d, c.n, got, c.want)
		}
	}
}

// TestLateness: intervals less delay_loop, in ms, by rank.
func TestLateness(t *testing.T) {
	var gaps []time.Duration
	for i := range 100 {
		gaps = append(gaps, time.Second+time.Duration(100-i)*time.Millisecond)
	}
	p50, p99, maxi := lateness(gaps)
	if p50 != 51 || p99 != 100 || maxi != 100 {
		t.Errorf("lateness = %v, %v, %v; want 51, 100, 100", p50, p99, maxi)
	}
	if p50, p99, maxi := lateness(nil); p50 != 0 || p99 != 0 || maxi != 0 {
		t.Errorf("lateness(nil) = %v, %v, %v", p50, p99, maxi)
	}
}
