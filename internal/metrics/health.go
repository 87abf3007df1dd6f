package metrics

import "github.com/prometheus/client_golang/prometheus"

var healthUp = desc("lvs_ha_healthcheck_up",
	"Whether the health check currently considers its real server up (1) or down (0).",
	"virtual_server", "real_server", "checker")

type healthCollector struct{ m *Metrics }

var _ prometheus.Collector = (*healthCollector)(nil)

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- healthUp }

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.Sources().Health
	if src == nil {
		return
	}
	seen := map[[3]string]bool{}
	for _, cs := range src.HealthChecks() {
		l := cs.labels()
		if seen[[3]string(l)] {
			continue // CheckInfo is documented unique; never emit duplicates
		}
		seen[[3]string(l)] = true
		ch <- prometheus.MustNewConstMetric(healthUp, prometheus.GaugeValue, b2f(cs.State.Up), l...)
	}
}
