package netlab

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
)

// TestHTTPClientFrom checks that the client dials from the node's namespace,
// from the source address asked for, one connection per request.
func TestHTTPClientFrom(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	srv := lab.AddNode("srv", "192.0.2.1")
	cli := lab.AddNode("cli", "192.0.2.10", "192.0.2.9")
	var ln net.Listener
	if err := srv.Do(func() (err error) { ln, err = net.Listen("tcp4", "192.0.2.1:80"); return err }); err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	tests := []struct {
		name string
		hc   *http.Client
		want netip.Addr
	}{
		{"HTTPClient", cli.HTTPClient(), netip.MustParseAddr("192.0.2.10")},
		{"HTTPClientFrom", cli.HTTPClientFrom(netip.MustParseAddr("192.0.2.9")), netip.MustParseAddr("192.0.2.9")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ports := map[uint16]bool{}
			for range 2 {
				resp, err := tc.hc.Get("http://192.0.2.1/")
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				from, err := netip.ParseAddrPort(string(b))
				if err != nil || from.Addr() != tc.want {
					t.Fatalf("request came from %q (%v), want %v", b, err, tc.want)
				}
				ports[from.Port()] = true
			}
			if len(ports) != 2 {
				t.Errorf("two requests over %d connection(s), want one each", len(ports))
			}
		})
	}
}
