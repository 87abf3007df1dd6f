package metrics

import (
	"math"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// checkHistVec is lvs_ha_healthcheck_duration_seconds: a histogram per check
// label set, kept compact. client_golang's Histogram is ~1.3 KB a series (two
// sets of counts for its hot/cold swap, an exemplar slot per bucket, native
// histogram state, its label pairs) and there is one per health check: at
// 1,000 virtual servers x 10 real servers they were 16.7 of the checker's
// 35 MB of live heap, which Go's GC doubles at its peak. A checkSeries is its
// counts and sum, ~200 bytes; the exposition (a const histogram per series,
// built at scrape time) is the same.
type checkHistVec struct {
	desc  *prometheus.Desc
	upper []float64 // bucket upper bounds, sorted

	mu     sync.Mutex
	series map[checkKey]*checkSeries
}

var _ prometheus.Collector = (*checkHistVec)(nil)

// checkKey is a check's labels: CheckInfo without its ID, 16 bytes less
// in each map slot.
type checkKey struct {
	vs      string
	rs      netip.AddrPort
	checker string
}

func keyOf(c CheckInfo) checkKey { return checkKey{c.VirtualServer, c.RealServer, c.Checker} }

func (k checkKey) info() CheckInfo {
	return CheckInfo{VirtualServer: k.vs, RealServer: k.rs, Checker: k.checker}
}

func newCheckHistVec(name, help string, buckets []float64, labels []string) *checkHistVec {
	upper := append([]float64(nil), buckets...)
	sort.Float64s(upper)
	if n := len(upper); n > 0 && math.IsInf(upper[n-1], +1) {
		upper = upper[:n-1] // +Inf is implicit
	}
	return &checkHistVec{
		desc:   prometheus.NewDesc(name, help, labels, nil),
		upper:  upper,
		series: map[checkKey]*checkSeries{},
	}
}

// checkSeries is one label set's histogram. Observe is safe for concurrent
// use. Its upper bounds are its vector's, and its created time is kept as
// Unix nanoseconds: 64 bytes and the counts, not 96.
type checkSeries struct {
	h       *checkHistVec
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	count   atomic.Uint64
	sumBits atomic.Uint64
	created int64 // Unix nanoseconds
}

var _ prometheus.Observer = (*checkSeries)(nil)

func (s *checkSeries) Observe(v float64) {
	s.counts[sort.SearchFloat64s(s.h.upper, v)].Add(1)
	for {
		old := s.sumBits.Load()
		if s.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
	s.count.Add(1)
}

// with returns key's series, made on first use.
func (h *checkHistVec) with(c CheckInfo) *checkSeries {
	key := keyOf(c)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[key]
	if s == nil {
		s = &checkSeries{h: h, counts: make([]atomic.Uint64, len(h.upper)+1), created: time.Now().UnixNano()}
		h.series[key] = s
	}
	return s
}

// retain deletes the series whose key want does not hold, and returns their keys.
func (h *checkHistVec) retain(want map[CheckInfo]bool) []CheckInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var gone []CheckInfo
	for k := range h.series {
		if c := k.info(); !want[c] {
			delete(h.series, k)
			gone = append(gone, c)
		}
	}
	return gone
}

func (h *checkHistVec) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *checkHistVec) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	all := make([]checkMetric, 0, len(h.series))
	for k, s := range h.series {
		all = append(all, checkMetric{h: h, key: k, s: s})
	}
	h.mu.Unlock()
	for i := range all {
		ch <- &all[i]
	}
}

// checkMetric is a checkSeries at scrape time.
type checkMetric struct {
	h   *checkHistVec
	key checkKey
	s   *checkSeries
}

func (m *checkMetric) Desc() *prometheus.Desc { return m.h.desc }

// Write fills out as client_golang's Histogram does (cumulative buckets, sum,
// count, created timestamp).
func (m *checkMetric) Write(out *dto.Metric) error {
	s, upper := m.s, m.h.upper
	// The count first: an Observe meanwhile shows in the buckets or the sum
	// at worst, and no bucket is above the count.
	count := s.count.Load()
	vals := make([]uint64, len(upper)+1)
	bs := make([]dto.Bucket, len(upper))
	ptrs := make([]*dto.Bucket, len(upper))
	var cum uint64
	for i := range upper {
		cum += s.counts[i].Load()
		vals[i] = min(cum, count)
		bs[i].UpperBound, bs[i].CumulativeCount = &upper[i], &vals[i]
		ptrs[i] = &bs[i]
	}
	vals[len(upper)] = count
	sum := math.Float64frombits(s.sumBits.Load())
	out.Label = prometheus.MakeLabelPairs(m.h.desc, m.key.info().labels())
	out.Histogram = &dto.Histogram{
		SampleCount:      &vals[len(upper)],
		SampleSum:        &sum,
		Bucket:           ptrs,
		CreatedTimestamp: timestamppb.New(time.Unix(0, s.created)),
	}
	return nil
}

// checkCounterVec is lvs_ha_healthcheck_failures_total: a counter per check
// label set and reason, kept compact like checkHistVec. client_golang's
// CounterVec keeps ~1 KB a series (its label pairs, label value strings, a
// created timestamp message, the counter with its exemplar slot) and builds
// the label values at every increment: with 10,000 failing checks that was
// ~10.7 MB of live heap, doubled by Go's GC at its peak. A checkCount is a
// map entry of its key and a pointer to ~40 bytes; the exposition (a const
// counter per series, built at scrape time) is the same.
type checkCounterVec struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	series map[checkCountKey]*checkCount
}

var _ prometheus.Collector = (*checkCounterVec)(nil)

// checkCountKey is a series: the check's labels (ID cleared) and the reason.
type checkCountKey struct {
	checkKey
	reason string
}

type checkCount struct {
	n       atomic.Uint64
	created int64 // Unix nanoseconds
}

func newCheckCounterVec(name, help string, labels []string) *checkCounterVec {
	return &checkCounterVec{desc: prometheus.NewDesc(name, help, labels, nil), series: map[checkCountKey]*checkCount{}}
}

// inc adds one to key's series, made on first use.
func (v *checkCounterVec) inc(c CheckInfo, reason string) {
	k := checkCountKey{keyOf(c), reason}
	v.mu.Lock()
	s := v.series[k]
	if s == nil {
		s = &checkCount{created: time.Now().UnixNano()}
		v.series[k] = s
	}
	v.mu.Unlock()
	s.n.Add(1)
}

// retain deletes the series whose check want does not hold.
func (v *checkCounterVec) retain(want map[CheckInfo]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.series {
		if !want[k.info()] {
			delete(v.series, k)
		}
	}
}

func (v *checkCounterVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *checkCounterVec) Collect(ch chan<- prometheus.Metric) {
	v.mu.Lock()
	all := make([]checkCountMetric, 0, len(v.series))
	for k, s := range v.series {
		all = append(all, checkCountMetric{desc: v.desc, key: k, s: s})
	}
	v.mu.Unlock()
	for i := range all {
		ch <- &all[i]
	}
}

// checkCountMetric is a checkCount at scrape time.
type checkCountMetric struct {
	desc *prometheus.Desc
	key  checkCountKey
	s    *checkCount
}

func (m *checkCountMetric) Desc() *prometheus.Desc { return m.desc }

// Write fills out as client_golang's Counter does (value, created timestamp).
func (m *checkCountMetric) Write(out *dto.Metric) error {
	val := float64(m.s.n.Load())
	out.Label = prometheus.MakeLabelPairs(m.desc, append(m.key.info().labels(), m.key.reason))
	out.Counter = &dto.Counter{Value: &val, CreatedTimestamp: timestamppb.New(time.Unix(0, m.s.created))}
	return nil
}
