package netlab

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
			// Bound to an address, the socket would get its port at bind
			// time, at random: a port just used for the same VIP can come
			// back while the director still holds that connection's IPVS
			// entry, and the new connection then follows the old entry
			// instead of being scheduled (a flake seen in the rr drill).
			// IP_BIND_ADDRESS_NO_PORT defers the choice to connect, which
			// steps through ports per destination.
			d.Control = func(_, _ string, c syscall.RawConn) error {
				var serr error
				if err := c.Control(func(fd uintptr) {
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
				}); err != nil {
					return err
				}
				return serr
			}
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
