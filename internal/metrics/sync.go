package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// SyncSource reads the kernel's connection synchronisation state: the
// running sync daemons and the connection table with each entry's origin.
type SyncSource interface {
	SyncDaemons() ([]ipvs.SyncDaemon, error)
	SyncConnections() ([]ipvs.SyncConnection, error)
}

var (
	_ SyncSource = ipvs.KernelSync{}
	_ SyncSource = SyncFuncs{}
)

// SyncFuncs adapts two functions to SyncSource; a nil one reads as empty.
type SyncFuncs struct {
	Daemons     func() ([]ipvs.SyncDaemon, error)
	Connections func() ([]ipvs.SyncConnection, error)
}

// SyncDaemons calls f.Daemons.
func (f SyncFuncs) SyncDaemons() ([]ipvs.SyncDaemon, error) {
	if f.Daemons == nil {
		return nil, nil
	}
	return f.Daemons()
}

// SyncConnections calls f.Connections.
func (f SyncFuncs) SyncConnections() ([]ipvs.SyncConnection, error) {
	if f.Connections == nil {
		return nil, nil
	}
	return f.Connections()
}

var (
	syncDaemonUp = desc("lvs_ha_ipvs_sync_daemon_up",
		"1 for each connection synchronisation daemon running in the kernel.", "state", "syncid", "interface")
	connsByOrigin = desc("lvs_ha_ipvs_connections",
		"IPVS connection entries by origin (local: scheduled here; sync: received from a master sync daemon), protocol and state.",
		"origin", "proto", "state")
)

// ConnKey groups connection entries for lvs_ha_ipvs_connections and the
// status page: origin in lower case ("local", "sync"), the protocol and
// the state as the kernel names them ("TCP", "ESTABLISHED").
type ConnKey struct{ Origin, Proto, State string }

// CountConnections counts entries by ConnKey, keeping first-seen order.
func CountConnections(cs []ipvs.SyncConnection) ([]ConnKey, map[ConnKey]int) {
	var keys []ConnKey
	n := map[ConnKey]int{}
	for _, c := range cs {
		k := ConnKey{strings.ToLower(string(c.Origin)), c.Protocol, c.State}
		if _, ok := n[k]; !ok {
			keys = append(keys, k)
		}
		n[k]++
	}
	return keys, n
}

type syncCollector struct{ m *Metrics }

var _ prometheus.Collector = (*syncCollector)(nil)

func (c *syncCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- syncDaemonUp
	ch <- connsByOrigin
}

// Collect reads the kernel at scrape time; a read that fails (no ip_vs)
// leaves its series out (lvs_ha_ipvs_up tells why when IPVS is managed).
func (c *syncCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.Sources().Sync
	if src == nil {
		return
	}
	if ds, err := src.SyncDaemons(); err == nil {
		for _, d := range ds {
			ch <- prometheus.MustNewConstMetric(syncDaemonUp, prometheus.GaugeValue, 1,
				d.State.String(), strconv.FormatUint(uint64(d.SyncID), 10), d.Interface)
		}
	}
	if cs, err := src.SyncConnections(); err == nil {
		keys, n := CountConnections(cs)
		for _, k := range keys {
			ch <- prometheus.MustNewConstMetric(connsByOrigin, prometheus.GaugeValue, float64(n[k]), k.Origin, k.Proto, k.State)
		}
	}
}
