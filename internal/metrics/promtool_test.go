package metrics

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/promtooltest"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promtoolPath returns the promtool binary, or skips the test without one
// (promtooltest.Path).
func promtoolPath(t *testing.T) string {
	t.Helper()
	p, ok := promtooltest.Path(t)
	if !ok {
		t.SkipNow()
	}
	return p
}

// TestPromtoolCheckMetrics runs `promtool check metrics` on what /metrics
// serves, with every family populated and the Go/process collectors on.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := promtoolPath(t)
	reg := NewRegistry()
	if _, err := New(reg, Options{}); err != nil {
		t.Fatal(err)
	}
	full, _ := newFull(t)
	for _, g := range []struct {
		name string
		h    *httptest.Server
	}{
		{"lvs-ha families", httptest.NewServer(promhttp.HandlerFor(full, promhttp.HandlerOpts{}))},
		{"with go and process collectors", httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))},
	} {
		t.Run(g.name, func(t *testing.T) {
			defer g.h.Close()
			resp, err := g.h.Client().Get(g.h.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		})
	}
}
