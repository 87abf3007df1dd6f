package metrics

import (
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/buildinfo"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// VRRPSource gives a snapshot of the VRRP runner.
type VRRPSource interface {
	Snapshot() runner.Stats
}

// IPVSSource reads the live IPVS table with its 64-bit counters.
type IPVSSource interface {
	Table() (ipvs.Table, error)
}

// HealthSource lists the configured health checks with their current state.
type HealthSource interface {
	HealthChecks() []CheckStatus
}

var (
	_ VRRPSource   = (*runner.Runner)(nil)
	_ IPVSSource   = (*ipvs.Netlink)(nil)
	_ IPVSSource   = ipvs.Kernel(nil)
	_ VRRPSource   = VRRPFunc(nil)
	_ IPVSSource   = IPVSFunc(nil)
	_ HealthSource = HealthFunc(nil)
)

// VRRPFunc adapts a function to VRRPSource.
type VRRPFunc func() runner.Stats

// Snapshot calls f.
func (f VRRPFunc) Snapshot() runner.Stats { return f() }

// IPVSFunc adapts a function to IPVSSource.
type IPVSFunc func() (ipvs.Table, error)

// Table calls f.
func (f IPVSFunc) Table() (ipvs.Table, error) { return f() }

// HealthFunc adapts a function to HealthSource.
type HealthFunc func() []CheckStatus

// HealthChecks calls f.
func (f HealthFunc) HealthChecks() []CheckStatus { return f() }

// CheckInfo identifies a health check; its fields become metric labels.
type CheckInfo struct {
	// ID is the healthcheck.Check ID (not a label).
	ID string
	// VirtualServer names the virtual server as configured, e.g.
	// "10.0.0.1 80", "fwmark 7" or "group web" (label virtual_server).
	VirtualServer string
	// RealServer is the checked real server (label real_server).
	RealServer netip.AddrPort
	// Checker is the checker type, made unique within the real server when it
	// has several checks of one type: "HTTP_GET", "HTTP_GET#1" (label checker).
	Checker string
}

func (c CheckInfo) labels() []string {
	return []string{c.VirtualServer, c.RealServer.String(), c.Checker}
}

// CheckStatus is a health check with its scheduler state.
type CheckStatus struct {
	CheckInfo
	// Services are the IPVS services whose destination RealServer this check
	// governs (several for a virtual_server_group); used by the status page to
	// attach checks to real servers.
	Services []ipvs.ServiceKey
	// State is the scheduler's view (healthcheck.Runner.State).
	State healthcheck.State
}

// VIP is a virtual address of a VRRP instance.
type VIP struct {
	Addr      netip.Addr
	Interface string
	Excluded  bool // virtual_ipaddress_excluded
}

// VIPsOf returns the VIPs of each instance config, keyed by instance name,
// with an empty device replaced by the instance's interface.
func VIPsOf(cfgs []runner.InstanceConfig) map[string][]VIP {
	out := make(map[string][]VIP, len(cfgs))
	for _, c := range cfgs {
		var vs []VIP
		for i, list := range [][]vip.Address{c.VIPs, c.ExcludedVIPs} {
			for _, a := range list {
				dev := a.Dev
				if dev == "" {
					dev = c.Interface
				}
				vs = append(vs, VIP{Addr: a.Prefix.Addr(), Interface: dev, Excluded: i == 1})
			}
		}
		out[c.Machine.Name] = vs
	}
	return out
}

// Sources are the state the collectors and the status page read at scrape
// time. Any field may be nil / empty: its series are then absent.
type Sources struct {
	VRRP VRRPSource
	// VIPs by instance name, for keepalived_vrrp_state's ip_address label
	// (see VIPsOf). An instance without entries gets one series with
	// ip_address="".
	VIPs   map[string][]VIP
	IPVS   IPVSSource
	Health HealthSource
	// Desired is the configured IPVS table (for the status page: real servers
	// removed from the kernel after failing checks are still listed).
	Desired ipvs.Table
	// Sync reads the kernel's sync daemons and connection origins whatever
	// the configuration says (ipvs.KernelSync in the daemon).
	Sync SyncSource
	// BGP is bgp_speaker's state (nil without one), for /status.
	BGP BGPSource
}

// Options configure Metrics.
type Options struct {
	// Version and Revision label lvs_ha_build_info; empty means
	// buildinfo.Version and buildinfo.Revision().
	Version, Revision string
	// DurationBuckets are the health-check duration histogram buckets in
	// seconds; nil means DefaultDurationBuckets.
	DurationBuckets []float64
	// DirectIPVS leaves the IPVS families off the registry: Handler writes
	// them straight to the text format (a 10,000 x 10 table is 1.1 M
	// series, ~20 s of CPU through Gather). Serve /metrics with Handler then.
	DirectIPVS bool
}

// DefaultDurationBuckets suit checks bounded by connect_timeout (default 5 s).
var DefaultDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics owns lvs-ha's collectors on one registry.
type Metrics struct {
	src atomic.Pointer[Sources]

	checkDuration *checkHistVec
	checkFailures *checkCounterVec
	reloads       *prometheus.CounterVec
	reloadOK      prometheus.Gauge
	reloadTime    prometheus.Gauge
	unsupported   prometheus.Gauge
	smtpAlerts    *prometheus.CounterVec

	// ipvsReg holds the IPVS collector alone with Options.DirectIPVS.
	ipvsReg *prometheus.Registry
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// ready for New.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// New registers lvs-ha's collectors on reg.
func New(reg prometheus.Registerer, opts Options) (*Metrics, error) {
	if reg == nil {
		return nil, fmt.Errorf("metrics: no registry")
	}
	if opts.Version == "" {
		opts.Version = buildinfo.Version
	}
	if opts.Revision == "" {
		opts.Revision = buildinfo.Revision()
	}
	if opts.DurationBuckets == nil {
		opts.DurationBuckets = DefaultDurationBuckets
	}
	m := &Metrics{}
	m.src.Store(&Sources{})
	checkLabels := []string{"virtual_server", "real_server", "checker"}
	m.checkDuration = newCheckHistVec("lvs_ha_healthcheck_duration_seconds", "Duration of health check probes.",
		opts.DurationBuckets, checkLabels)
	m.checkFailures = newCheckCounterVec("lvs_ha_healthcheck_failures_total", "Failed health check probes by reason.",
		append(slices.Clone(checkLabels), "reason"))
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lvs_ha_config_reloads_total",
		Help: "Configuration loads and reloads by result (success, failure).",
	}, []string{"result"})
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lvs_ha_config_last_reload_successful",
		Help: "Whether the last configuration load or reload succeeded (1) or failed (0).",
	})
	m.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lvs_ha_config_last_reload_success_timestamp_seconds",
		Help: "Time of the last successful configuration load or reload, in seconds since the epoch.",
	})
	m.unsupported = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lvs_ha_config_unsupported_keywords",
		Help: "Uses of keywords in the configuration in force that lvs-ha accepts with a warning and ignores.",
	})
	m.smtpAlerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lvs_ha_smtp_alerts_total",
		Help: "E-mail alerts (smtp_alert) by result: sent, failed (logged) or dropped (queue full).",
	}, []string{"result"})
	for _, r := range []string{"sent", "failed", "dropped"} {
		m.smtpAlerts.WithLabelValues(r)
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lvs_ha_build_info",
		Help: "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{
			"version": opts.Version, "revision": opts.Revision, "goversion": runtime.Version(),
		},
	})
	build.Set(1)
	cs := []prometheus.Collector{
		m.checkDuration, m.checkFailures, m.reloads, m.reloadOK, m.reloadTime, m.unsupported, m.smtpAlerts, build,
		&vrrpCollector{m: m}, &healthCollector{m: m}, &syncCollector{m: m},
	}
	if opts.DirectIPVS {
		m.ipvsReg = prometheus.NewRegistry()
		m.ipvsReg.MustRegister(&ipvsCollector{m: m})
	} else {
		cs = append(cs, &ipvsCollector{m: m})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// SetSources replaces the sources read at scrape time (call it at start and
// after every reload). Typed nil pointers count as absent.
func (m *Metrics) SetSources(s Sources) {
	if isNil(s.VRRP) {
		s.VRRP = nil
	}
	if isNil(s.IPVS) {
		s.IPVS = nil
	}
	if isNil(s.Health) {
		s.Health = nil
	}
	if isNil(s.Sync) {
		s.Sync = nil
	}
	m.src.Store(&s)
}

// Sources returns the current sources.
func (m *Metrics) Sources() Sources { return *m.src.Load() }

// ObserveCheck records one finished health check probe (call it from
// healthcheck.RunnerOptions.OnResult). It is safe for concurrent use.
func (m *Metrics) ObserveCheck(c CheckInfo, res healthcheck.Result) {
	key := c
	key.ID = ""
	m.checkDuration.with(key).Observe(res.Duration.Seconds())
	if !res.OK {
		reason := res.Reason
		if reason == "" {
			reason = healthcheck.ReasonError
		}
		m.checkFailures.inc(key, reason)
	}
}

// RetainChecks deletes the duration and failure series of checks not in keep
// (call it after a reload removed checks).
func (m *Metrics) RetainChecks(keep []CheckInfo) {
	want := make(map[CheckInfo]bool, len(keep))
	for _, c := range keep {
		c.ID = ""
		want[c] = true
	}
	m.checkDuration.retain(want)
	m.checkFailures.retain(want)
}

// ConfigReloaded records a configuration load or reload at now: err nil is a
// success. Call it for the initial load too.
func (m *Metrics) ConfigReloaded(now time.Time, err error) {
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(now.UnixNano()) / 1e9)
}

// SetUnsupportedKeywords records how many uses of keywords lvs-ha accepts
// with a warning and ignores the configuration in force has (set at start
// and at each successful reload).
func (m *Metrics) SetUnsupportedKeywords(n int) { m.unsupported.Set(float64(n)) }

// SMTPAlert counts one e-mail alert by result: "sent", "failed" or
// "dropped" (internal/mail's results).
func (m *Metrics) SMTPAlert(result string) { m.smtpAlerts.WithLabelValues(result).Inc() }

// isNil reports whether v is nil or an interface holding a nil pointer, map,
// slice or func.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
