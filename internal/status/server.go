package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lvs-ha/lvs-ha/internal/buildinfo"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

// DefaultAddr is the default listen address of the HTTP endpoints: loopback,
// on keepalived_exporter's port.
const DefaultAddr = "127.0.0.1:9650"

// SourceProvider gives the current sources; *metrics.Metrics implements it.
type SourceProvider interface {
	Sources() metrics.Sources
}

var _ SourceProvider = (*metrics.Metrics)(nil)

// Server serves GET /metrics and GET /status.
type Server struct {
	mux     *http.ServeMux
	src     SourceProvider
	now     func() time.Time
	version string
}

// Options configure a Server.
type Options struct {
	// Now is the clock for the document's time; nil means time.Now.
	Now func() time.Time
	// Version is reported in the document; "" means buildinfo.Version.
	Version string
	// Metrics serves /metrics; nil means promhttp over the gatherer
	// (metrics.Metrics.Handler writes large IPVS tables directly).
	Metrics http.Handler
}

// NewServer returns a server exposing g on /metrics and src on /status.
func NewServer(g prometheus.Gatherer, src SourceProvider, opts Options) *Server {
	s := &Server{mux: http.NewServeMux(), src: src, now: opts.Now, version: opts.Version}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = buildinfo.Version
	}
	mh := opts.Metrics
	if mh == nil {
		mh = promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	}
	s.mux.Handle("GET /metrics", mh)
	s.mux.HandleFunc("GET /status", s.serveStatus)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "lvs-ha: /metrics (Prometheus), /status (JSON)")
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = WriteJSON(w, s.src.Sources(), s.version, s.now()) // a failed write means the client went away
}

// Serve listens on addr ("" means DefaultAddr) and serves until ctx ends; it
// then shuts down, giving in-flight requests up to 5 s. It returns nil after
// a shutdown caused by ctx, else the listen or serve error.
func (s *Server) Serve(ctx context.Context, addr string) error {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("status: listen %s: %w", addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener is Serve on an open listener, which it closes.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("status: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("status: shutdown: %w", err)
	}
	return nil
}

// Fetch gets GET /status from a running daemon at addr ("" means
// DefaultAddr; "host:port" or a full http:// URL) and returns the decoded
// document and the raw body (for --json).
func Fetch(ctx context.Context, client *http.Client, addr string) (Document, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if addr == "" {
		addr = DefaultAddr
	}
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + addr
	}
	url = strings.TrimSuffix(url, "/") + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Document{}, nil, fmt.Errorf("status: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Document{}, nil, fmt.Errorf("status: is lvs-ha running? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return Document{}, nil, fmt.Errorf("status: read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Document{}, body, fmt.Errorf("status: GET %s: %s", url, resp.Status)
	}
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return Document{}, body, fmt.Errorf("status: decode %s: %w", url, err)
	}
	return doc, body, nil
}
