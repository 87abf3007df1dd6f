package bgp

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descPeerUp = prometheus.NewDesc("lvs_ha_bgp_peer_up",
		"1 while the BGP session with the neighbor is Established.", []string{"neighbor"}, nil)
	descBFDUp = prometheus.NewDesc("lvs_ha_bgp_bfd_up",
		"1 while the BFD session with the neighbor is Up (neighbors with BFD only).", []string{"neighbor"}, nil)
	descTransitions = prometheus.NewDesc("lvs_ha_bgp_peer_transitions_total",
		"Changes of the BGP session into and out of Established.", []string{"neighbor"}, nil)
	descAnnounced = prometheus.NewDesc("lvs_ha_bgp_prefix_announced",
		"1 while the prefix is announced, 0 after it was withdrawn.", []string{"prefix"}, nil)
	descAnnounces = prometheus.NewDesc("lvs_ha_bgp_announces_total",
		"Prefixes announced (changes from withdrawn to announced).", nil, nil)
	descWithdraws = prometheus.NewDesc("lvs_ha_bgp_withdraws_total",
		"Prefixes withdrawn (changes from announced to withdrawn).", nil, nil)
)

// collector reads the speaker's state at scrape time.
type collector struct{ s *Speaker }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeerUp, descBFDUp, descTransitions, descAnnounced, descAnnounces, descWithdraws} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Status()
	for _, p := range st.Peers {
		n := p.Address.String()
		ch <- prometheus.MustNewConstMetric(descPeerUp, prometheus.GaugeValue, b2f(p.State == "established"), n)
		if p.BFD != "" {
			ch <- prometheus.MustNewConstMetric(descBFDUp, prometheus.GaugeValue, b2f(p.BFD == "up"), n)
		}
		ch <- prometheus.MustNewConstMetric(descTransitions, prometheus.CounterValue, float64(p.Transitions), n)
	}
	for _, p := range st.Prefixes {
		ch <- prometheus.MustNewConstMetric(descAnnounced, prometheus.GaugeValue, b2f(p.Announced), p.Prefix.String())
	}
	c.s.mu.Lock()
	a, w := c.s.announces, c.s.withdraws
	c.s.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descAnnounces, prometheus.CounterValue, float64(a))
	ch <- prometheus.MustNewConstMetric(descWithdraws, prometheus.CounterValue, float64(w))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
