package metrics

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A checkSeries counts as client_golang's Histogram does (buckets are upper
// bounds, le; the sum and count), so the exposition is the same.
func TestCheckHistLikeClientGolang(t *testing.T) {
	labels := []string{"virtual_server", "real_server", "checker"}
	v := newCheckHistVec("d", "h", DefaultDurationBuckets, labels)
	ref := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Help: "h", Buckets: DefaultDurationBuckets}, labels)
	key := CheckInfo{VirtualServer: "10.0.0.1 80", RealServer: netip.MustParseAddrPort("10.0.1.1:80"), Checker: "HTTP_GET"}
	obs := ref.WithLabelValues(key.labels()...)
	for _, x := range []float64{0, 0.001, 0.0010001, 0.0025, 0.7, 5, 30, 31, math.Inf(1), 1e-9} {
		v.with(key).Observe(x)
		obs.Observe(x)
	}
	got, want := collectOne(t, v), collectOne(t, ref)
	gh, wh := got.GetHistogram(), want.GetHistogram()
	if gh.GetSampleCount() != wh.GetSampleCount() || gh.GetSampleSum() != wh.GetSampleSum() || len(gh.Bucket) != len(wh.Bucket) {
		t.Fatalf("got %v\nwant %v", gh, wh)
	}
	for i := range gh.Bucket {
		if gh.Bucket[i].GetUpperBound() != wh.Bucket[i].GetUpperBound() || gh.Bucket[i].GetCumulativeCount() != wh.Bucket[i].GetCumulativeCount() {
			t.Errorf("bucket %d: got %v want %v", i, gh.Bucket[i], wh.Bucket[i])
		}
	}
	if got.String() == "" || len(got.Label) != 3 || got.Label[0].GetName() != "checker" {
		t.Errorf("labels %v", got.Label)
	}
	if gone := v.retain(map[CheckInfo]bool{}); len(gone) != 1 || gone[0] != key {
		t.Errorf("retain removed %v", gone)
	}
}

func collectOne(t *testing.T, c prometheus.Collector) *dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 2)
	c.Collect(ch)
	close(ch)
	var ms []*dto.Metric
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, &d)
	}
	if len(ms) != 1 {
		t.Fatalf("%d metrics", len(ms))
	}
	return ms[0]
}

// BenchmarkGatherChecks gathers the duration and failure series of 10,000
// checks (1,000 virtual servers x 10 real servers).
func BenchmarkGatherChecks(b *testing.B) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{Version: "v", Revision: "r"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		c := CheckInfo{VirtualServer: "10.0.0.1 80", RealServer: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), Checker: "HTTP_GET"}
		m.ObserveCheck(c, healthcheck.Result{OK: true, Duration: 3 * time.Millisecond})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// A checkCount is exposed as client_golang's Counter is (labels in the
// same order, value, a created timestamp), and retain drops a check's
// series of every reason.
func TestCheckCounterLikeClientGolang(t *testing.T) {
	labels := []string{"virtual_server", "real_server", "checker", "reason"}
	v := newCheckCounterVec("f", "h", labels)
	ref := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "f", Help: "h"}, labels)
	key := CheckInfo{VirtualServer: "10.0.0.1 80", RealServer: netip.MustParseAddrPort("10.0.1.1:80"), Checker: "TCP_CHECK"}
	for range 3 {
		v.inc(key, "refused")
		ref.WithLabelValues(append(key.labels(), "refused")...).Inc()
	}
	got, want := collectOne(t, v), collectOne(t, ref)
	if got.GetCounter().GetValue() != want.GetCounter().GetValue() || got.GetCounter().CreatedTimestamp == nil {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if len(got.Label) != len(want.Label) {
		t.Fatalf("labels %v, want %v", got.Label, want.Label)
	}
	for i := range got.Label {
		if got.Label[i].GetName() != want.Label[i].GetName() || got.Label[i].GetValue() != want.Label[i].GetValue() {
			t.Errorf("label %d: got %v want %v", i, got.Label[i], want.Label[i])
		}
	}
	v.inc(key, "timeout")
	other := key
	other.Checker = "HTTP_GET"
	v.inc(other, "refused")
	v.retain(map[CheckInfo]bool{other: true})
	if len(v.series) != 1 || v.series[checkCountKey{keyOf(other), "refused"}] == nil {
		t.Errorf("after retain: %v", v.series)
	}
}

// TestObserveFailureAllocs: counting a failure of a check already seen
// allocates nothing (client_golang's CounterVec built the label values at
// each increment).
func TestObserveFailureAllocs(t *testing.T) {
	m, err := New(prometheus.NewRegistry(), Options{Version: "v", Revision: "r"})
	if err != nil {
		t.Fatal(err)
	}
	c := CheckInfo{ID: "x", VirtualServer: "10.0.0.1 80", RealServer: netip.MustParseAddrPort("10.0.1.1:80"), Checker: "TCP_CHECK"}
	res := healthcheck.Result{Reason: "refused", Duration: time.Millisecond}
	m.ObserveCheck(c, res)
	if n := testing.AllocsPerRun(100, func() { m.ObserveCheck(c, res) }); n != 0 {
		t.Errorf("ObserveCheck of a failure: %v allocations", n)
	}
}
