package metrics

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// scaleTable is n services of m destinations, with counters, as the kernel
// reports them.
func scaleTable(n, m int) ipvs.Table {
	t := ipvs.Table{Services: make([]ipvs.Service, n)}
	for i := range n {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		s := ipvs.Service{Key: ipvs.AddrKey(ipvs.TCP, netip.AddrPortFrom(vip, 80)), Scheduler: "wrr",
			Stats: &ipvs.Stats{Conns: uint64(i) * 1234567, InPkts: 10, OutPkts: 10, InBytes: 1000, OutBytes: 1000}}
		s.Destinations = make([]ipvs.Destination, m)
		for j := range m {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
			s.Destinations[j] = ipvs.Destination{Addr: rip, Port: uint16(8000 + j), Weight: int32(j + 1),
				Stats: &ipvs.DestStats{ActiveConns: 1, InactConns: 2, Stats: ipvs.Stats{Conns: 3}}}
		}
		t.Services[i] = s
	}
	return t
}

// serve returns the body h gives to GET /metrics with header k: v.
func serve(tb testing.TB, m *Metrics, g prometheus.Gatherer, k, v string) []byte {
	tb.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if k != "" {
		req.Header.Set(k, v)
	}
	m.Handler(g).ServeHTTP(rec, req)
	if rec.Code != 200 {
		tb.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body.Bytes())
	}
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	return body
}

// With DirectIPVS the handler serves the bytes promhttp serves over a
// registry with the IPVS collector: same families, order, label order,
// escaping, values and fwmark sums; for an unreadable table, no table, and
// with gzip.
func TestDirectIPVSMatchesGather(t *testing.T) {
	tables := map[string]IPVSSource{
		"fixture": IPVSFunc(func() (ipvs.Table, error) { return fakeTable(), nil }),
		"scale":   IPVSFunc(func() (ipvs.Table, error) { return scaleTable(300, 3), nil }),
		"empty":   IPVSFunc(func() (ipvs.Table, error) { return ipvs.Table{}, nil }),
		"error":   IPVSFunc(func() (ipvs.Table, error) { return ipvs.Table{}, errors.New("no ip_vs") }),
		"none":    nil,
	}
	for name, src := range tables {
		t.Run(name, func(t *testing.T) {
			var bodies [2][]byte
			for i, direct := range []bool{false, true} {
				reg := NewRegistry()
				m, err := New(reg, Options{Version: "1", Revision: "r", DirectIPVS: direct})
				if err != nil {
					t.Fatal(err)
				}
				s := fakeSources()
				s.IPVS = src
				m.SetSources(s)
				m.ObserveCheck(chk1, healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK, Duration: 3 * time.Millisecond})
				// The Go and process collectors change between two scrapes.
				g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
					mfs, err := reg.Gather()
					return dropRuntime(mfs), err
				})
				if direct {
					bodies[i] = serve(t, m, g, "", "")
					if gz := serve(t, m, g, "Accept-Encoding", "gzip, deflate"); !bytes.Equal(gz, bodies[i]) {
						t.Errorf("gzip body differs")
					}
				} else {
					rec := httptest.NewRecorder()
					promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
					bodies[i] = rec.Body.Bytes()
				}
			}
			if !bytes.Equal(bodies[0], bodies[1]) {
				t.Errorf("direct IPVS text differs from Gather's:\n--- gather\n%s\n--- direct\n%s", bodies[0], bodies[1])
			}
			if name != "none" && !bytes.Contains(bodies[1], []byte("lvs_ha_ipvs_up")) {
				t.Errorf("no lvs_ha_ipvs_up:\n%s", bodies[1])
			}
		})
	}
}

// A client asking for protobuf gets the IPVS families too.
func TestDirectIPVSProtobuf(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{DirectIPVS: true})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(fakeSources())
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	m.Handler(reg).ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !bytes.Contains([]byte(ct), []byte("protobuf")) {
		t.Fatalf("Content-Type %q", ct)
	}
	if !bytes.Contains(rec.Body.Bytes(), []byte("node_ipvs_backend_weight")) {
		t.Errorf("no IPVS family in the protobuf answer")
	}
}

// BenchmarkScrapeIPVS is one /metrics scrape of a 10,000 x 10 IPVS table
// (the table read itself excluded: see ipvs's BenchmarkReconcile and the VM
// scale benchmark in integration/vmscale), through Gather and direct.
func BenchmarkScrapeIPVS(b *testing.B) {
	t := scaleTable(10000, 10)
	for _, bc := range []struct {
		name   string
		direct bool
	}{{"gather", false}, {"direct", true}} {
		b.Run(bc.name, func(b *testing.B) {
			reg := NewRegistry()
			m, err := New(reg, Options{DirectIPVS: bc.direct})
			if err != nil {
				b.Fatal(err)
			}
			m.SetSources(Sources{IPVS: IPVSFunc(func() (ipvs.Table, error) { return t, nil })})
			h := m.Handler(reg)
			b.ReportAllocs()
			var n int
			for b.Loop() {
				w := &countingWriter{}
				h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
				n = w.n
			}
			b.ReportMetric(float64(n), "body-bytes")
		})
	}
}

// countingWriter is a ResponseWriter that counts and drops the body.
type countingWriter struct {
	httptest.ResponseRecorder
	n int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// TestScrapeScalePromtool checks a 10,000 x 10 scrape with promtool (opt-in:
// LVSHA_SCALE=1; a few seconds of CPU).
func TestScrapeScalePromtool(t *testing.T) {
	if os.Getenv("LVSHA_SCALE") != "1" {
		t.Skip("LVSHA_SCALE=1 runs it")
	}
	promtool := promtoolPath(t)
	reg := NewRegistry()
	m, err := New(reg, Options{DirectIPVS: true})
	if err != nil {
		t.Fatal(err)
	}
	tab := scaleTable(10000, 10)
	m.SetSources(Sources{IPVS: IPVSFunc(func() (ipvs.Table, error) { return tab, nil })})
	start := time.Now()
	body := serve(t, m, reg, "", "")
	t.Logf("scrape of 10,000 x 10: %d bytes in %v", len(body), time.Since(start))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%.2000s", err, out)
	}
}

// dropRuntime leaves out the go_ and process_ families.
func dropRuntime(mfs []*dto.MetricFamily) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range mfs {
		if n := mf.GetName(); !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			out = append(out, mf)
		}
	}
	return out
}
