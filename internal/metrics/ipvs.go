package metrics

import (
	"fmt"
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

type statCounter struct {
	d   *prometheus.Desc
	get func(*ipvs.Stats) uint64
}

func statCounters(prefix, what string, labels []string) []statCounter {
	return []statCounter{
		{desc(prefix+"connections_total", "Connections scheduled to the "+what+".", labels...),
			func(s *ipvs.Stats) uint64 { return s.Conns }},
		{desc(prefix+"incoming_packets_total", "Packets received for the "+what+".", labels...),
			func(s *ipvs.Stats) uint64 { return s.InPkts }},
		{desc(prefix+"outgoing_packets_total", "Packets sent for the "+what+".", labels...),
			func(s *ipvs.Stats) uint64 { return s.OutPkts }},
		{desc(prefix+"incoming_bytes_total", "Bytes received for the "+what+".", labels...),
			func(s *ipvs.Stats) uint64 { return s.InBytes }},
		{desc(prefix+"outgoing_bytes_total", "Bytes sent for the "+what+".", labels...),
			func(s *ipvs.Stats) uint64 { return s.OutBytes }},
	}
}

var (
	ipvsUp = desc("lvs_ha_ipvs_up", "Whether the IPVS table could be read at this scrape.")

	// node_exporter's backend gauges, same names and labels.
	nodeBackendActive = desc("node_ipvs_backend_connections_active",
		"The current active connections by local and remote address.", backendLabels...)
	nodeBackendInactive = desc("node_ipvs_backend_connections_inactive",
		"The current inactive connections by local and remote address.", backendLabels...)
	nodeBackendWeight = desc("node_ipvs_backend_weight",
		"The current backend weight by local and remote address.", backendLabels...)

	backendPersistent = desc("lvs_ha_ipvs_backend_connections_persistent",
		"The current persistence templates of the real server.", backendLabels...)
	serviceBackends = desc("lvs_ha_ipvs_service_backends",
		"Number of real servers of the virtual service in the kernel.", svcLabels...)

	serviceCounters = statCounters("lvs_ha_ipvs_service_", "virtual service", svcLabels)
	backendCounters = statCounters("lvs_ha_ipvs_backend_", "real server", backendLabels)
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

func backendLabelValues(k ipvs.ServiceKey, d *ipvs.Destination) []string {
	s := serviceLabelValues(k)
	return []string{s[0], s[1], d.Addr.String(), strconv.Itoa(int(d.Port)), s[2], s[3]}
}

type ipvsCollector struct{ m *Metrics }

var _ prometheus.Collector = (*ipvsCollector)(nil)

func (c *ipvsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ipvsUp, nodeBackendActive, nodeBackendInactive, nodeBackendWeight, backendPersistent, serviceBackends} {
		ch <- d
	}
	for _, l := range [][]statCounter{serviceCounters, backendCounters} {
		for _, k := range l {
			ch <- k.d
		}
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
	// IPv4 and IPv6 fwmark services with one mark share node_exporter's label
	// values; like node_exporter, sum them.
	svc, be := newSums(), newSums()
	for i := range t.Services {
		s := &t.Services[i]
		sl := serviceLabelValues(s.Key)
		v := []float64{float64(len(s.Destinations))}
		for _, k := range serviceCounters {
			v = append(v, float64(k.get(&s.Stats)))
		}
		svc.add(sl, v)
		for j := range s.Destinations {
			d := &s.Destinations[j]
			v := []float64{float64(d.Stats.ActiveConns), float64(d.Stats.InactConns), float64(d.Weight), float64(d.Stats.PersistConns)}
			for _, k := range backendCounters {
				v = append(v, float64(k.get(&d.Stats.Stats)))
			}
			be.add(backendLabelValues(s.Key, d), v)
		}
	}
	for i, l := range svc.labels {
		v := svc.vals[i]
		ch <- prometheus.MustNewConstMetric(serviceBackends, prometheus.GaugeValue, v[0], l...)
		for j, k := range serviceCounters {
			ch <- prometheus.MustNewConstMetric(k.d, prometheus.CounterValue, v[1+j], l...)
		}
	}
	for i, l := range be.labels {
		v := be.vals[i]
		for j, d := range []*prometheus.Desc{nodeBackendActive, nodeBackendInactive, nodeBackendWeight, backendPersistent} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v[j], l...)
		}
		for j, k := range backendCounters {
			ch <- prometheus.MustNewConstMetric(k.d, prometheus.CounterValue, v[4+j], l...)
		}
	}
}

// sums adds up values by label values, keeping first-seen order.
type sums struct {
	index  map[string]int
	labels [][]string
	vals   [][]float64
}

func newSums() *sums { return &sums{index: map[string]int{}} }

func (s *sums) add(labels []string, v []float64) {
	key := strings.Join(labels, "\x00")
	i, ok := s.index[key]
	if !ok {
		s.index[key] = len(s.labels)
		s.labels = append(s.labels, labels)
		s.vals = append(s.vals, v)
		return
	}
	for j := range v {
		s.vals[i][j] += v[j]
	}
}
