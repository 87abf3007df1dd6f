package metrics

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// node_exporter's ipvs collector labels (collector/ipvs_linux.go), in its order.
var (
	svcLabels     = []string{"local_address", "local_port", "proto", "local_mark"}
	backendLabels = []string{"local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"}
)

// ipvsFamily is one IPVS metric family: a column of the service rows or of
// the backend rows (see ipvsRows). The same specs give the collector's Descs
// and the direct text writer (text.go), so both print the same families.
type ipvsFamily struct {
	name, help string
	typ        prometheus.ValueType
	backend    bool // a backend family (backendLabels), else a service family
	col        int  // index into the row's values
	d          *prometheus.Desc
}

func newFamily(name, help string, typ prometheus.ValueType, backend bool, col int) *ipvsFamily {
	labels := svcLabels
	if backend {
		labels = backendLabels
	}
	return &ipvsFamily{name: name, help: help, typ: typ, backend: backend, col: col, d: desc(name, help, labels...)}
}

// statFamilies are the five counters of ipvs.Stats from column first on.
func statFamilies(prefix, what string, backend bool, first int) []*ipvsFamily {
	c := prometheus.CounterValue
	return []*ipvsFamily{
		newFamily(prefix+"connections_total", "Connections scheduled to the "+what+".", c, backend, first),
		newFamily(prefix+"incoming_packets_total", "Packets received for the "+what+".", c, backend, first+1),
		newFamily(prefix+"outgoing_packets_total", "Packets sent for the "+what+".", c, backend, first+2),
		newFamily(prefix+"incoming_bytes_total", "Bytes received for the "+what+".", c, backend, first+3),
		newFamily(prefix+"outgoing_bytes_total", "Bytes sent for the "+what+".", c, backend, first+4),
	}
}

const ipvsUpHelp = "Whether the IPVS table could be read at this scrape."

var (
	ipvsUp = desc("lvs_ha_ipvs_up", ipvsUpHelp)

	// Service rows: backends, then the stats counters.
	serviceFamilies = append([]*ipvsFamily{
		newFamily("lvs_ha_ipvs_service_backends",
			"Number of real servers of the virtual service in the kernel.", prometheus.GaugeValue, false, 0),
	}, statFamilies("lvs_ha_ipvs_service_", "virtual service", false, 1)...)

	// Backend rows: node_exporter's backend gauges (same names and labels),
	// persistence templates, then the stats counters.
	backendFamilies = append([]*ipvsFamily{
		newFamily("node_ipvs_backend_connections_active",
			"The current active connections by local and remote address.", prometheus.GaugeValue, true, 0),
		newFamily("node_ipvs_backend_connections_inactive",
			"The current inactive connections by local and remote address.", prometheus.GaugeValue, true, 1),
		newFamily("node_ipvs_backend_weight",
			"The current backend weight by local and remote address.", prometheus.GaugeValue, true, 2),
		newFamily("lvs_ha_ipvs_backend_connections_persistent",
			"The current persistence templates of the real server.", prometheus.GaugeValue, true, 3),
	}, statFamilies("lvs_ha_ipvs_backend_", "real server", true, 4)...)
)

// serviceLabelValues returns node_exporter's label values for a service: an
// address service has local_address, local_port, proto (TCP, UDP, SCTP) and
// local_mark ""; a fwmark service has local_address "", local_port "0", proto
// "FWM" and local_mark as the kernel prints it in /proc/net/ip_vs (%08X).
func serviceLabelValues(k ipvs.ServiceKey) []string {
	if k.IsFWMark() {
		return []string{"", "0", "FWM", fmt.Sprintf("%08X", k.FWMark)}
	}
	return []string{k.Addr.String(), strconv.Itoa(int(k.Port)), k.Protocol.String(), ""}
}

func backendLabelValues(s []string, d *ipvs.Destination) []string {
	return []string{s[0], s[1], d.Addr.String(), strconv.Itoa(int(d.Port)), s[2], s[3]}
}

type ipvsCollector struct{ m *Metrics }

var _ prometheus.Collector = (*ipvsCollector)(nil)

func (c *ipvsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ipvsUp
	for _, f := range append(slices.Clone(serviceFamilies), backendFamilies...) {
		ch <- f.d
	}
}

func (c *ipvsCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.Sources().IPVS
	if src == nil {
		return
	}
	t, err := src.Table()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(ipvsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(ipvsUp, prometheus.GaugeValue, 1)
	svc, be := ipvsRows(&t)
	for _, r := range []struct {
		s  *sums
		fs []*ipvsFamily
	}{{svc, serviceFamilies}, {be, backendFamilies}} {
		for i, l := range r.s.labels {
			for _, f := range r.fs {
				ch <- prometheus.MustNewConstMetric(f.d, f.typ, r.s.vals[i][f.col], l...)
			}
		}
	}
}

// ipvsRows returns the service rows (svcLabels values; backends and the
// stats) and the backend rows (backendLabels values; active, inactive,
// weight, persistent and the stats) of t. IPv4 and IPv6 fwmark services with
// one mark share node_exporter's label values; like node_exporter, their
// rows are summed.
//
// The counters of a table read without them (nil) are zero.
// noStats and noDestStats stand for counters not read (read only).
var (
	noStats     ipvs.Stats
	noDestStats ipvs.DestStats
)

func ipvsRows(t *ipvs.Table) (svc, be *sums) {
	svc, be = newSums(len(t.Services)), newSums(0)
	for i := range t.Services {
		s := &t.Services[i]
		sl := serviceLabelValues(s.Key)
		v := make([]float64, len(serviceFamilies))
		for c := range v {
			v[c] = serviceValue(s, c)
		}
		svc.add(sl, v, s.Key.IsFWMark())
		for j := range s.Destinations {
			d := &s.Destinations[j]
			v := make([]float64, len(backendFamilies))
			for c := range v {
				v[c] = destValue(d, c)
			}
			be.add(backendLabelValues(sl, d), v, s.Key.IsFWMark())
		}
	}
	return svc, be
}

// serviceValue is column col of s's service row: its backends, then the
// stats counters.
func serviceValue(s *ipvs.Service, col int) float64 {
	if col == 0 {
		return float64(len(s.Destinations))
	}
	return statValue(cmp.Or(s.Stats, &noStats), col-1)
}

// destValue is column col of d's backend row: active, inactive, weight,
// persistent, then the stats counters.
func destValue(d *ipvs.Destination, col int) float64 {
	ds := cmp.Or(d.Stats, &noDestStats)
	switch col {
	case 0:
		return float64(ds.ActiveConns)
	case 1:
		return float64(ds.InactConns)
	case 2:
		return float64(d.Weight)
	case 3:
		return float64(ds.PersistConns)
	}
	return statValue(&ds.Stats, col-4)
}

// statValue is counter i of statFamilies.
func statValue(st *ipvs.Stats, i int) float64 {
	return float64([...]uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes}[i])
}

// sums adds up values by label values, keeping first-seen order. Only rows
// of fwmark services can share label values (address services have unique
// keys), so only those go through the index.
type sums struct {
	index  map[string]int
	labels [][]string
	vals   [][]float64
}

func newSums(n int) *sums {
	return &sums{index: map[string]int{}, labels: make([][]string, 0, n), vals: make([][]float64, 0, n)}
}

func (s *sums) add(labels []string, v []float64, fwmark bool) {
	if fwmark {
		key := strings.Join(labels, "\x00")
		if i, ok := s.index[key]; ok {
			for j := range v {
				s.vals[i][j] += v[j]
			}
			return
		}
		s.index[key] = len(s.labels)
	}
	s.labels = append(s.labels, labels)
	s.vals = append(s.vals, v)
}
