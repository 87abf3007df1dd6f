package metrics

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Handler serves /metrics from g. With Options.DirectIPVS, the IPVS
// families (which New then left off the registry) are written straight to
// the text format, merged in name order with g's: at 10,000 services x 10
// real servers they are 1.1 M series, which client_golang's Gather (a
// protobuf message per series, label sorting) takes ~20 s of CPU to build
// and this writer well under one. The bytes are those promhttp would serve;
// a client asking for another format (protobuf) gets promhttp's answer over
// g and the IPVS collector.
func (m *Metrics) Handler(g prometheus.Gatherer) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	if m.ipvsReg == nil {
		return promhttp.HandlerFor(g, opts)
	}
	slow := promhttp.HandlerFor(prometheus.Gatherers{g, m.ipvsReg}, opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.Negotiate(r.Header)
		if format.FormatType() != expfmt.TypeTextPlain {
			slow.ServeHTTP(w, r)
			return
		}
		mfs, err := g.Gather()
		if err != nil && len(mfs) == 0 {
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", string(format))
		var out io.Writer = w
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			defer gz.Close()
			out = gz
		}
		bw := bufio.NewWriterSize(out, 64<<10)
		_ = m.WriteText(bw, mfs) // a failed write means the client went away
		_ = bw.Flush()
	})
}

// acceptsGzip reports whether an Accept-Encoding value offers gzip (with a
// non-zero q).
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// WriteText writes mfs (sorted by name, as Gather returns them) in the text
// format with the IPVS families merged in, when Options.DirectIPVS keeps
// them off the registry.
func (m *Metrics) WriteText(w io.Writer, mfs []*dto.MetricFamily) error {
	var fams []textFamily
	if m.ipvsReg != nil {
		fams = ipvsText(m.Sources().IPVS)
	}
	i := 0
	for _, mf := range mfs {
		for ; i < len(fams) && fams[i].name < mf.GetName(); i++ {
			if err := fams[i].write(w); err != nil {
				return err
			}
		}
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	for ; i < len(fams); i++ {
		if err := fams[i].write(w); err != nil {
			return err
		}
	}
	return nil
}

// textFamily is one family ready to write: its header and, per row, the
// label part ("{...}") and value.
type textFamily struct {
	name, header string
	labels       []string // per row, "" for none
	vals         [][]float64
	col          int
}

func (f *textFamily) write(w io.Writer) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, f.header...)
	for i, l := range f.labels {
		buf = append(buf, f.name...)
		buf = append(buf, l...)
		buf = append(buf, ' ')
		buf = appendFloat(buf, f.vals[i][f.col])
		buf = append(buf, '\n')
		if len(buf) > 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

func header(name, help string, typ prometheus.ValueType) string {
	t := "gauge"
	if typ == prometheus.CounterValue {
		t = "counter"
	}
	return "# HELP " + name + " " + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help) + "\n# TYPE " + name + " " + t + "\n"
}

// ipvsText returns the IPVS families of src's table sorted by name, as the
// collector and Gather would give them: rows ordered by label values in
// label name order, families without rows left out.
func ipvsText(src IPVSSource) []textFamily {
	if src == nil {
		return nil
	}
	up := textFamily{name: "lvs_ha_ipvs_up", header: header("lvs_ha_ipvs_up", ipvsUpHelp, prometheus.GaugeValue),
		labels: []string{""}, vals: [][]float64{{0}}}
	t, err := src.Table()
	if err != nil {
		return []textFamily{up}
	}
	up.vals[0][0] = 1
	fams := []textFamily{up}
	svc, be := ipvsRows(&t)
	for _, r := range []struct {
		s  *sums
		fs []*ipvsFamily
		// order is the row's label values in label name order.
		order []int
	}{
		{svc, serviceFamilies, sortedOrder(svcLabels)},
		{be, backendFamilies, sortedOrder(backendLabels)},
	} {
		if len(r.s.labels) == 0 {
			continue
		}
		names := make([]string, len(r.order))
		for i, j := range r.order {
			names[i] = labelNames(r.fs[0].backend)[j]
		}
		idx := make([]int, len(r.s.labels))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int {
			la, lb := r.s.labels[a], r.s.labels[b]
			for _, j := range r.order {
				if c := cmp.Compare(la[j], lb[j]); c != 0 {
					return c
				}
			}
			return 0
		})
		labels := make([]string, len(idx))
		vals := make([][]float64, len(idx))
		var sb []byte
		for k, i := range idx {
			sb = sb[:0]
			for n, j := range r.order {
				if n == 0 {
					sb = append(sb, '{')
				} else {
					sb = append(sb, ',')
				}
				sb = append(sb, names[n]...)
				sb = append(sb, `="`...)
				sb = appendEscaped(sb, r.s.labels[i][j])
				sb = append(sb, '"')
			}
			sb = append(sb, '}')
			labels[k], vals[k] = string(sb), r.s.vals[i]
		}
		for _, f := range r.fs {
			fams = append(fams, textFamily{name: f.name, header: header(f.name, f.help, f.typ), labels: labels, vals: vals, col: f.col})
		}
	}
	slices.SortFunc(fams, func(a, b textFamily) int { return cmp.Compare(a.name, b.name) })
	return fams
}

func labelNames(backend bool) []string {
	if backend {
		return backendLabels
	}
	return svcLabels
}

// sortedOrder returns the indexes of labels in name order (client_golang
// sorts a series' label pairs by name).
func sortedOrder(labels []string) []int {
	idx := make([]int, len(labels))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(labels[a], labels[b]) })
	return idx
}

// appendEscaped escapes a label value as the text format does.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat formats a sample value as expfmt does.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
