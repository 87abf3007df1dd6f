package netlab

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// HTTPClient returns an HTTP client whose connections are dialled from inside
// the node's namespace, one new TCP connection per request (no keep-alive), so
// that every request is scheduled afresh by a load balancer on the way.
func (n *Node) HTTPClient() *http.Client { return n.HTTPClientFrom(netip.Addr{}) }

// HTTPClientFrom is [Node.HTTPClient] with connections from source address src
// (one of the node's addresses); the zero Addr leaves the choice to the kernel.
func (n *Node) HTTPClientFrom(src netip.Addr) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		var conn net.Conn
		err := n.Do(func() (err error) {
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
}
