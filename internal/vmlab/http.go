package vmlab

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// Server is a real server's HTTP server in a lab node: it answers every request
// with "<node name> <port>\n", so that a client behind a load balancer sees which
// real server on which port served it. It listens on the port of every address of
// the node (IPv4 and IPv6, VIPs on lo included).
type Server struct {
	t    testing.TB
	node *netlab.Node
	port int
	hang atomic.Bool

	mu  sync.Mutex
	srv *http.Server
}

// Serve starts a Server in n on port; it is closed at the end of the test.
func Serve(t testing.TB, n *netlab.Node, port int) *Server {
	t.Helper()
	s := &Server{t: t, node: n, port: port}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start listens again after Stop. It fails the test Serve was given when the
// port cannot be bound, so call it from that test's goroutine.
func (s *Server) Start() {
	s.t.Helper()
	var ln net.Listener
	err := s.node.Do(func() (err error) {
		// "tcp" listens on the IPv4 and IPv6 wildcard addresses.
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", s.port))
		return err
	})
	if err != nil {
		s.t.Fatalf("listen on port %d in %s: %v", s.port, s.node.Name(), err)
	}
	body := fmt.Sprintf("%s %d\n", s.node.Name(), s.port)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for s.hang.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// Stop closes the listener and every connection: new connections are refused.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// SetHang makes the server accept requests but not answer them until it is set
// back to false (or the client gives up): a hung service for health checks.
func (s *Server) SetHang(on bool) { s.hang.Store(on) }

// Fetch GETs url with hc and returns the body; a status other than 200 is an
// error.
func Fetch(hc *http.Client, url string) (string, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d, answer %q", url, resp.StatusCode, b)
	}
	return string(b), nil
}

// Get GETs url with hc and returns the name of the [Server] that answered,
// checking that it answered on port: behind a NAT service that is the real
// server's port, not the virtual one.
func Get(hc *http.Client, url string, port int) (string, error) {
	b, err := Fetch(hc, url)
	if err != nil {
		return "", err
	}
	f := strings.Fields(b)
	if len(f) != 2 || f[1] != strconv.Itoa(port) {
		return "", fmt.Errorf("GET %s: answer %q, want a server on port %d", url, b, port)
	}
	return f[0], nil
}
