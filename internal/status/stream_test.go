package status

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// wholeJSON is what serveStatus wrote before streaming: the whole document
// encoded at once.
func wholeJSON(t testing.TB, src metrics.Sources) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Build(src, "1.2.3", now)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gridSources is n services x 10 real servers, configured and in the kernel,
// with every 7th service only configured and every 11th only in the kernel.
func gridSources(n int) metrics.Sources {
	var desired, live ipvs.Table
	for i := range n {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		s := ipvs.Service{Key: ipvs.AddrKey(ipvs.TCP, netip.AddrPortFrom(vip, 80)), Scheduler: "wrr"}
		for j := range 10 {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
			s.Destinations = append(s.Destinations, ipvs.Destination{Addr: rip, Port: uint16(8000 + j), Weight: int32(j + 1)})
		}
		if i%11 != 0 {
			desired.Services = append(desired.Services, s)
		}
		if i%7 != 0 {
			s.Stats = &ipvs.Stats{Conns: uint64(i)}
			live.Services = append(live.Services, s)
		}
	}
	return metrics.Sources{IPVS: metrics.IPVSFunc(func() (ipvs.Table, error) { return live, nil }), Desired: desired}
}

// writeRecorder records the largest single Write.
type writeRecorder struct {
	bytes.Buffer
	max int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.max = max(w.max, len(p))
	return w.Buffer.Write(p)
}

// TestWriteJSONEqualsWhole: the streamed answer is byte for byte the whole
// document's encoding, for the golden sources and a big table, and it
// reaches the writer in pieces.
func TestWriteJSONEqualsWhole(t *testing.T) {
	noGroups := fakeSources()
	noGroups.VRRP = metrics.VRRPFunc(func() runner.Stats {
		st := fakeSources().VRRP.Snapshot()
		st.SyncGroups = nil
		return st
	})
	noHTML := fakeSources()
	noHTML.IPVS = metrics.IPVSFunc(func() (ipvs.Table, error) { return ipvs.Table{}, errSource("<no> & \"ip_vs\"\n\xff") })
	for name, src := range map[string]metrics.Sources{
		"full": fakeSources(), "empty": {}, "no sync groups": noGroups, "escaped error": noHTML,
		"1000x10": gridSources(1000),
	} {
		t.Run(name, func(t *testing.T) {
			want := wholeJSON(t, src)
			var got writeRecorder
			if err := WriteJSON(&got, src, "1.2.3", now); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("streamed answer differs from the whole encoding:\n%s\nwant:\n%s", got.Bytes(), want)
			}
			if got.max > streamFlush+16<<10 {
				t.Errorf("largest write %d bytes of %d: the answer was not streamed", got.max, got.Len())
			}
		})
	}
}

type errSource string

func (e errSource) Error() string { return string(e) }

// allocPerStatus is the bytes allocated by one answer written by write.
func allocPerStatus(t testing.TB, write func(io.Writer) error) (alloc uint64, body int) {
	var cw countWriter
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := write(&cw); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, int(cw)
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// responseWriter is a ResponseWriter writing the body to an io.Writer.
type responseWriter struct {
	io.Writer
	h http.Header
}

func (w responseWriter) Header() http.Header { return w.h }
func (responseWriter) WriteHeader(int)       {}

// TestStatusAllocs: at 1,000 x 10 one GET /status allocates a fraction of
// what building the document and its JSON whole allocated (9 times the
// 2.4 MB body; streamed 0.3 times, 1.2 under -race whose sync.Pool drops
// encoders at random).
func TestStatusAllocs(t *testing.T) {
	src := gridSources(1000)
	srv := NewServer(prometheus.NewRegistry(), staticSources(src), Options{Now: func() time.Time { return now }, Version: "1.2.3"})
	req := httptest.NewRequest("GET", "/status", nil)
	stream := func(w io.Writer) error {
		srv.ServeHTTP(responseWriter{w, http.Header{}}, req)
		return nil
	}
	whole := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Build(src, "1.2.3", now))
	}
	sa, body := allocPerStatus(t, stream)
	wa, wbody := allocPerStatus(t, whole)
	t.Logf("1,000 x 10: body %d bytes; allocated %d bytes streamed, %d whole", body, sa, wa)
	if body != wbody {
		t.Fatalf("body %d bytes, whole %d", body, wbody)
	}
	if sa >= wa/4 {
		t.Errorf("streamed /status allocated %d bytes, whole %d: built whole?", sa, wa)
	}
}

// BenchmarkStatusJSON is one /status answer at 1,000 x 10, streamed (as
// served) and built whole (as before), side by side.
func BenchmarkStatusJSON(b *testing.B) {
	src := gridSources(1000)
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteJSON(io.Discard, src, "1.2.3", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc := json.NewEncoder(io.Discard)
			enc.SetIndent("", "  ")
			if err := enc.Encode(Build(src, "1.2.3", now)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
