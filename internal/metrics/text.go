package metrics

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/lvs-ha/lvs-ha/ipvs"
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
	var x *ipvsText
	if m.ipvsReg != nil {
		x = newIPVSText(m.Sources().IPVS)
	}
	fams := x.families()
	i := 0
	for _, mf := range mfs {
		for ; i < len(fams) && fams[i].name < mf.GetName(); i++ {
			if err := x.write(w, &fams[i]); err != nil {
				return err
			}
		}
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	for ; i < len(fams); i++ {
		if err := x.write(w, &fams[i]); err != nil {
			return err
		}
	}
	return nil
}

// textFamily is one IPVS family of the text format with its header.
type textFamily struct {
	name, header string
	f            *ipvsFamily // nil for lvs_ha_ipvs_up
}

// ipvsTextFamilies are the IPVS families in name order, as Gather gives them.
var ipvsTextFamilies = func() []textFamily {
	fs := []textFamily{{name: "lvs_ha_ipvs_up", header: header("lvs_ha_ipvs_up", ipvsUpHelp, prometheus.GaugeValue)}}
	for _, f := range append(slices.Clone(serviceFamilies), backendFamilies...) {
		fs = append(fs, textFamily{name: f.name, header: header(f.name, f.help, f.typ), f: f})
	}
	slices.SortFunc(fs, func(a, b textFamily) int { return cmp.Compare(a.name, b.name) })
	return fs
}()

func header(name, help string, typ prometheus.ValueType) string {
	t := "gauge"
	if typ == prometheus.CounterValue {
		t = "counter"
	}
	return "# HELP " + name + " " + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help) + "\n# TYPE " + name + " " + t + "\n"
}

// ipvsText writes the IPVS families of one table read, each straight from
// the table, as the collector and Gather would give them: rows ordered by
// label values in label name order (client_golang sorts a series' label
// pairs by name, then the series by them), the rows of the fwmark services
// of one mark summed as ipvsRows does, families without rows left out.
// Nothing is kept per row but two indexes (4 and 8 bytes): each row's labels
// are formatted into one reused buffer as it is written, once per family.
type ipvsText struct {
	t   ipvs.Table
	err error // the table could not be read: lvs_ha_ipvs_up 0 alone
	// svc is t's services in label order; ties (the fwmark services of one
	// mark, whose rows are summed) in table order.
	svc []int32
	// dests is t's destinations in label order, group of services by group
	// of services (see groupEnd); ties in table order.
	dests []destRef
	buf   []byte // the text not yet written
	pre   []byte // a group's service labels, the start of its backend rows' labels
}

// destRef is t.Services[s].Destinations[d].
type destRef struct{ s, d int32 }

// newIPVSText reads src's table and sorts its indexes; nil for no source.
func newIPVSText(src IPVSSource) *ipvsText {
	if src == nil {
		return nil
	}
	x := &ipvsText{buf: make([]byte, 0, 64<<10)}
	if x.t, x.err = src.Table(); x.err != nil {
		return x
	}
	ss := x.t.Services
	x.svc = make([]int32, len(ss))
	n := 0
	for i := range ss {
		x.svc[i] = int32(i)
		n += len(ss[i].Destinations)
	}
	slices.SortFunc(x.svc, func(a, b int32) int {
		return cmp.Or(compareServiceLabels(&ss[a].Key, &ss[b].Key), cmp.Compare(a, b))
	})
	x.dests = make([]destRef, 0, n)
	byLabels := func(a, b destRef) int {
		da, db := x.dest(a), x.dest(b)
		if c := compareAddrText(da.Addr, db.Addr); c != 0 {
			return c
		}
		if c := comparePortText(da.Port, db.Port); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.s, b.s), cmp.Compare(a.d, b.d))
	}
	for i := 0; i < len(x.svc); {
		j := x.groupEnd(i)
		start := len(x.dests)
		for _, s := range x.svc[i:j] {
			for d := range ss[s].Destinations {
				x.dests = append(x.dests, destRef{s, int32(d)})
			}
		}
		slices.SortFunc(x.dests[start:], byLabels)
		i = j
	}
	return x
}

// families lists the families x may write, in name order.
func (x *ipvsText) families() []textFamily {
	if x == nil {
		return nil
	}
	return ipvsTextFamilies
}

func (x *ipvsText) dest(r destRef) *ipvs.Destination {
	return &x.t.Services[r.s].Destinations[r.d]
}

// groupEnd returns the end of the group of services starting at x.svc[i]:
// the services whose rows have the same label values, which only the
// fwmark services of one mark (IPv4 and IPv6) share.
func (x *ipvsText) groupEnd(i int) int {
	k := &x.t.Services[x.svc[i]].Key
	j := i + 1
	for k.IsFWMark() && j < len(x.svc) && x.t.Services[x.svc[j]].Key.FWMark == k.FWMark {
		j++
	}
	return j
}

// write writes family tf.
func (x *ipvsText) write(w io.Writer, tf *textFamily) error {
	f := tf.f
	if f != nil && (x.err != nil || len(x.svc) == 0 || f.backend && len(x.dests) == 0) {
		return nil // no rows
	}
	x.buf = append(x.buf, tf.header...)
	var err error
	switch {
	case f == nil:
		up := byte('1')
		if x.err != nil {
			up = '0'
		}
		x.buf = append(x.buf, "lvs_ha_ipvs_up "...)
		x.buf = append(x.buf, up, '\n')
	case f.backend:
		err = x.writeBackends(w, f)
	default:
		err = x.writeServices(w, f)
	}
	if err != nil {
		return err
	}
	return x.flush(w, 0)
}

// flush writes x.buf when it holds more than n bytes.
func (x *ipvsText) flush(w io.Writer, n int) error {
	if len(x.buf) <= n {
		return nil
	}
	_, err := w.Write(x.buf)
	x.buf = x.buf[:0]
	return err
}

// writeServices writes the rows of service family f, one per group of
// services.
func (x *ipvsText) writeServices(w io.Writer, f *ipvsFamily) error {
	ss := x.t.Services
	for i := 0; i < len(x.svc); {
		j := x.groupEnd(i)
		s := &ss[x.svc[i]]
		v := serviceValue(s, f.col)
		for _, k := range x.svc[i+1 : j] {
			v += serviceValue(&ss[k], f.col)
		}
		x.buf = append(x.buf, f.name...)
		x.buf = appendServiceLabels(x.buf, s.Key)
		x.buf = x.appendValue(x.buf, v)
		if err := x.flush(w, 60<<10); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// writeBackends writes the rows of backend family f: per group of services,
// its destinations, those of a fwmark group with one address and port summed.
func (x *ipvsText) writeBackends(w io.Writer, f *ipvsFamily) error {
	ss := x.t.Services
	rest := x.dests
	for i := 0; i < len(x.svc); {
		j := x.groupEnd(i)
		n := 0
		for _, k := range x.svc[i:j] {
			n += len(ss[k].Destinations)
		}
		group := rest[:n]
		rest = rest[n:]
		key := ss[x.svc[i]].Key
		x.pre = appendServiceLabels(x.pre[:0], key)
		x.pre = append(x.pre, `,remote_address="`...)
		for a := 0; a < len(group); {
			d := x.dest(group[a])
			v := destValue(d, f.col)
			b := a + 1
			for ; key.IsFWMark() && b < len(group); b++ {
				e := x.dest(group[b])
				if e.Addr != d.Addr || e.Port != d.Port {
					break
				}
				v += destValue(e, f.col)
			}
			x.buf = append(x.buf, f.name...)
			x.buf = append(x.buf, x.pre...)
			x.buf = appendAddrLabel(x.buf, d.Addr)
			x.buf = append(x.buf, `",remote_port="`...)
			x.buf = strconv.AppendUint(x.buf, uint64(d.Port), 10)
			x.buf = append(x.buf, '"')
			x.buf = x.appendValue(x.buf, v)
			if err := x.flush(w, 60<<10); err != nil {
				return err
			}
			a = b
		}
		i = j
	}
	return nil
}

// appendValue ends a row: "} value\n".
func (x *ipvsText) appendValue(b []byte, v float64) []byte {
	b = append(b, "} "...)
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendServiceLabels appends "{" and k's label pairs in name order (see
// serviceLabelValues), without the closing "}".
func appendServiceLabels(b []byte, k ipvs.ServiceKey) []byte {
	b = append(b, `{local_address="`...)
	if k.IsFWMark() {
		b = append(b, `",local_mark="`...)
		for sh := 28; sh >= 0; sh -= 4 { // %08X
			b = append(b, "0123456789ABCDEF"[k.FWMark>>sh&0xf])
		}
		return append(b, `",local_port="0",proto="FWM"`...)
	}
	b = appendAddrLabel(b, k.Addr)
	b = append(b, `",local_mark="",local_port="`...)
	b = strconv.AppendUint(b, uint64(k.Port), 10)
	b = append(b, `",proto="`...)
	b = appendEscaped(b, k.Protocol.String())
	return append(b, '"')
}

// appendAddrLabel appends a's String, escaped.
func appendAddrLabel(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, "invalid IP"...)
	case a.Zone() != "": // the only part that may need escaping
		return appendEscaped(b, a.String())
	}
	return a.AppendTo(b)
}

// compareServiceLabels compares the label values of two services in label
// name order (local_address, local_mark, local_port, proto) as strings, as
// client_golang orders series, without formatting more than the addresses
// and ports.
func compareServiceLabels(a, b *ipvs.ServiceKey) int {
	switch af, bf := a.IsFWMark(), b.IsFWMark(); {
	case af && bf: // local_address "", local_mark %08X (ordered as the marks)
		return cmp.Compare(a.FWMark, b.FWMark)
	case af: // local_address "" first
		return -1
	case bf:
		return 1
	}
	if c := compareAddrText(a.Addr, b.Addr); c != 0 {
		return c
	}
	if c := comparePortText(a.Port, b.Port); c != 0 {
		return c
	}
	if a.Protocol == b.Protocol {
		return 0
	}
	return strings.Compare(a.Protocol.String(), b.Protocol.String())
}

// compareAddrText compares the label values of two addresses.
func compareAddrText(a, b netip.Addr) int {
	if a == b {
		return 0
	}
	var sa, sb [64]byte
	return bytes.Compare(appendAddrLabel(sa[:0], a), appendAddrLabel(sb[:0], b))
}

// comparePortText compares the label values of two ports ("10" < "8").
func comparePortText(a, b uint16) int {
	if a == b {
		return 0
	}
	var sa, sb [8]byte
	return bytes.Compare(strconv.AppendUint(sa[:0], uint64(a), 10), strconv.AppendUint(sb[:0], uint64(b), 10))
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
