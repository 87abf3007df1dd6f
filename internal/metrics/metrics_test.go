package metrics

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

func TestExposition(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{{
		name:  "keepalived state per VIP",
		names: []string{"keepalived_up", "keepalived_vrrp_state", "keepalived_vrrp_excluded_state"},
		want: `
# HELP keepalived_up Whether the VRRP service is running (always 1 while lvs-ha answers).
# TYPE keepalived_up gauge
keepalived_up 1
# HELP keepalived_vrrp_excluded_state VRRP state per excluded virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
# TYPE keepalived_vrrp_excluded_state gauge
keepalived_vrrp_excluded_state{iname="VI_1",intf="eth0",ip_address="2001:db8::10",vrid="51"} 2
# HELP keepalived_vrrp_state VRRP state per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
# TYPE keepalived_vrrp_state gauge
keepalived_vrrp_state{iname="VI_1",intf="eth0",ip_address="192.0.2.10",vrid="51"} 2
keepalived_vrrp_state{iname="VI_1",intf="eth0.10",ip_address="192.0.2.11",vrid="51"} 2
keepalived_vrrp_state{iname="VI_6",intf="eth1",ip_address="",vrid="52"} 1
`,
	}, {
		name: "keepalived counters",
		names: []string{"keepalived_advertisements_received_total", "keepalived_address_list_errors_total",
			"keepalived_advertisements_interval_errors_total", "keepalived_authentication_failure_total"},
		want: `
# HELP keepalived_address_list_errors_total Advertisements whose address list differs from ours (accepted or rejected).
# TYPE keepalived_address_list_errors_total counter
keepalived_address_list_errors_total{iname="VI_1",intf="eth0",vrid="51"} 15
keepalived_address_list_errors_total{iname="VI_6",intf="eth1",vrid="52"} 0
# HELP keepalived_advertisements_interval_errors_total VRRPv2 advertisements rejected for a different interval.
# TYPE keepalived_advertisements_interval_errors_total counter
keepalived_advertisements_interval_errors_total{iname="VI_1",intf="eth0",vrid="51"} 4
keepalived_advertisements_interval_errors_total{iname="VI_6",intf="eth1",vrid="52"} 0
# HELP keepalived_advertisements_received_total Advertisements received.
# TYPE keepalived_advertisements_received_total counter
keepalived_advertisements_received_total{iname="VI_1",intf="eth0",vrid="51"} 10
keepalived_advertisements_received_total{iname="VI_6",intf="eth1",vrid="52"} 0
# HELP keepalived_authentication_failure_total VRRPv2 packets with a wrong password.
# TYPE keepalived_authentication_failure_total counter
keepalived_authentication_failure_total{iname="VI_1",intf="eth0",vrid="51"} 8
keepalived_authentication_failure_total{iname="VI_6",intf="eth1",vrid="52"} 0
`,
	}, {
		name: "lvs-ha VRRP extras",
		names: []string{"lvs_ha_vrrp_priority", "lvs_ha_vrrp_base_priority", "lvs_ha_vrrp_last_transition_timestamp_seconds",
			"lvs_ha_vrrp_gratuitous_arps_sent_total", "lvs_ha_vrrp_tracker_state", "lvs_ha_vrrp_sync_group_state",
			"lvs_ha_vrrp_rx_unknown_vrid_total"},
		want: `
# HELP lvs_ha_vrrp_base_priority Configured priority.
# TYPE lvs_ha_vrrp_base_priority gauge
lvs_ha_vrrp_base_priority{iname="VI_1",intf="eth0",vrid="51"} 100
lvs_ha_vrrp_base_priority{iname="VI_6",intf="eth1",vrid="52"} 50
# HELP lvs_ha_vrrp_gratuitous_arps_sent_total Gratuitous ARPs and unsolicited neighbour advertisements sent.
# TYPE lvs_ha_vrrp_gratuitous_arps_sent_total counter
lvs_ha_vrrp_gratuitous_arps_sent_total{iname="VI_1",intf="eth0",vrid="51"} 13
lvs_ha_vrrp_gratuitous_arps_sent_total{iname="VI_6",intf="eth1",vrid="52"} 0
# HELP lvs_ha_vrrp_last_transition_timestamp_seconds Time of the last state transition, in seconds since the epoch (absent before the first).
# TYPE lvs_ha_vrrp_last_transition_timestamp_seconds gauge
lvs_ha_vrrp_last_transition_timestamp_seconds{iname="VI_1",intf="eth0",vrid="51"} 1.7149792895e+09
# HELP lvs_ha_vrrp_priority Effective priority (base priority adjusted by trackers).
# TYPE lvs_ha_vrrp_priority gauge
lvs_ha_vrrp_priority{iname="VI_1",intf="eth0",vrid="51"} 90
lvs_ha_vrrp_priority{iname="VI_6",intf="eth1",vrid="52"} 50
# HELP lvs_ha_vrrp_rx_unknown_vrid_total Received packets whose VRID no instance uses.
# TYPE lvs_ha_vrrp_rx_unknown_vrid_total counter
lvs_ha_vrrp_rx_unknown_vrid_total 21
# HELP lvs_ha_vrrp_sync_group_state Sync group state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
# TYPE lvs_ha_vrrp_sync_group_state gauge
lvs_ha_vrrp_sync_group_state{group="G1"} 2
# HELP lvs_ha_vrrp_tracker_state Tracker state per instance: 0 init, 1 ok, 2 fail.
# TYPE lvs_ha_vrrp_tracker_state gauge
lvs_ha_vrrp_tracker_state{iname="VI_1",intf="eth0",kind="interface",tracker="eth1",vrid="51"} 2
lvs_ha_vrrp_tracker_state{iname="VI_1",intf="eth0",kind="script",tracker="chk_nginx",vrid="51"} 1
`,
	}, {
		name: "IPVS node_exporter backend gauges, fwmark families summed",
		names: []string{"lvs_ha_ipvs_up", "node_ipvs_backend_connections_active", "node_ipvs_backend_weight",
			"lvs_ha_ipvs_service_connections_total"},
		want: `
# HELP lvs_ha_ipvs_service_connections_total Connections scheduled to the virtual service.
# TYPE lvs_ha_ipvs_service_connections_total counter
lvs_ha_ipvs_service_connections_total{local_address="",local_mark="0000000A",local_port="0",proto="FWM"} 3
lvs_ha_ipvs_service_connections_total{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP"} 100
# HELP lvs_ha_ipvs_up Whether the IPVS table could be read at this scrape.
# TYPE lvs_ha_ipvs_up gauge
lvs_ha_ipvs_up 1
# HELP node_ipvs_backend_connections_active The current active connections by local and remote address.
# TYPE node_ipvs_backend_connections_active gauge
node_ipvs_backend_connections_active{local_address="",local_mark="0000000A",local_port="0",proto="FWM",remote_address="10.0.2.1",remote_port="0"} 3
node_ipvs_backend_connections_active{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.1.1",remote_port="80"} 5
node_ipvs_backend_connections_active{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.1.2",remote_port="80"} 0
# HELP node_ipvs_backend_weight The current backend weight by local and remote address.
# TYPE node_ipvs_backend_weight gauge
node_ipvs_backend_weight{local_address="",local_mark="0000000A",local_port="0",proto="FWM",remote_address="10.0.2.1",remote_port="0"} 3
node_ipvs_backend_weight{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.1.1",remote_port="80"} 10
node_ipvs_backend_weight{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.1.2",remote_port="80"} 0
`,
	}, {
		name:  "connection sync, read from the kernel",
		names: []string{"lvs_ha_ipvs_sync_daemon_up", "lvs_ha_ipvs_connections"},
		want: `
# HELP lvs_ha_ipvs_connections IPVS connection entries by origin (local: scheduled here; sync: received from a master sync daemon), protocol and state.
# TYPE lvs_ha_ipvs_connections gauge
lvs_ha_ipvs_connections{origin="local",proto="TCP",state="ESTABLISHED"} 1
lvs_ha_ipvs_connections{origin="local",proto="UDP",state="UDP"} 1
lvs_ha_ipvs_connections{origin="sync",proto="TCP",state="ESTABLISHED"} 2
lvs_ha_ipvs_connections{origin="sync",proto="TCP",state="FIN_WAIT"} 1
# HELP lvs_ha_ipvs_sync_daemon_up 1 for each connection synchronisation daemon running in the kernel.
# TYPE lvs_ha_ipvs_sync_daemon_up gauge
lvs_ha_ipvs_sync_daemon_up{interface="eth1",state="backup",syncid="51"} 1
lvs_ha_ipvs_sync_daemon_up{interface="eth1",state="master",syncid="51"} 1
`,
	}, {
		name:  "health checks",
		names: []string{"lvs_ha_healthcheck_up", "lvs_ha_healthcheck_failures_total", "lvs_ha_healthcheck_duration_seconds"},
		want: `
# HELP lvs_ha_healthcheck_duration_seconds Duration of health check probes.
# TYPE lvs_ha_healthcheck_duration_seconds histogram
lvs_ha_healthcheck_duration_seconds_bucket{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80",le="0.001"} 0
lvs_ha_healthcheck_duration_seconds_bucket{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80",le="0.0025"} 0
lvs_ha_healthcheck_duration_seconds_bucket{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80",le="0.005"} 1
lvs_ha_healthcheck_duration_seconds_bucket{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80",le="+Inf"} 1
lvs_ha_healthcheck_duration_seconds_sum{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80"} 0.003
lvs_ha_healthcheck_duration_seconds_count{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80"} 1
lvs_ha_healthcheck_duration_seconds_bucket{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80",le="0.001"} 1
lvs_ha_healthcheck_duration_seconds_bucket{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80",le="0.0025"} 1
lvs_ha_healthcheck_duration_seconds_bucket{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80",le="0.005"} 1
lvs_ha_healthcheck_duration_seconds_bucket{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80",le="+Inf"} 2
lvs_ha_healthcheck_duration_seconds_sum{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80"} 2.0007
lvs_ha_healthcheck_duration_seconds_count{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80"} 2
# HELP lvs_ha_healthcheck_failures_total Failed health check probes by reason.
# TYPE lvs_ha_healthcheck_failures_total counter
lvs_ha_healthcheck_failures_total{checker="TCP_CHECK",real_server="10.0.1.2:80",reason="refused",virtual_server="10.0.0.1 80"} 1
lvs_ha_healthcheck_failures_total{checker="TCP_CHECK",real_server="10.0.1.2:80",reason="timeout",virtual_server="10.0.0.1 80"} 1
# HELP lvs_ha_healthcheck_up Whether the health check currently considers its real server up (1) or down (0).
# TYPE lvs_ha_healthcheck_up gauge
lvs_ha_healthcheck_up{checker="HTTP_GET",real_server="10.0.1.1:80",virtual_server="10.0.0.1 80"} 1
lvs_ha_healthcheck_up{checker="TCP_CHECK",real_server="10.0.1.2:80",virtual_server="10.0.0.1 80"} 0
`,
	}, {
		name: "config reloads and build info",
		names: []string{"lvs_ha_config_reloads_total", "lvs_ha_config_last_reload_successful",
			"lvs_ha_config_last_reload_success_timestamp_seconds", "lvs_ha_build_info"},
		want: fmt.Sprintf(`
# HELP lvs_ha_build_info Build information; the value is always 1.
# TYPE lvs_ha_build_info gauge
lvs_ha_build_info{goversion=%q,revision="abc123",version="1.2.3"} 1
# HELP lvs_ha_config_last_reload_success_timestamp_seconds Time of the last successful configuration load or reload, in seconds since the epoch.
# TYPE lvs_ha_config_last_reload_success_timestamp_seconds gauge
lvs_ha_config_last_reload_success_timestamp_seconds 1.7149792895e+09
# HELP lvs_ha_config_last_reload_successful Whether the last configuration load or reload succeeded (1) or failed (0).
# TYPE lvs_ha_config_last_reload_successful gauge
lvs_ha_config_last_reload_successful 0
# HELP lvs_ha_config_reloads_total Configuration loads and reloads by result (success, failure).
# TYPE lvs_ha_config_reloads_total counter
lvs_ha_config_reloads_total{result="failure"} 1
lvs_ha_config_reloads_total{result="success"} 1
`, runtime.Version()),
	}}
	reg, _ := newFull(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want), tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRxErrorsEveryReason(t *testing.T) {
	reg, _ := newFull(t)
	n, err := testutil.GatherAndCount(reg, "lvs_ha_vrrp_rx_errors_total")
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(vrrp.Reasons()); n != want {
		t.Errorf("lvs_ha_vrrp_rx_errors_total has %d series, want %d (every reason, both instances)", n, want)
	}
	got := gatherValues(t, reg, "lvs_ha_vrrp_rx_errors_total")
	for k, want := range map[string]float64{
		`iname="VI_1",intf="eth0",reason="checksum",vrid="51"`:       9,
		`iname="VI_1",intf="eth0",reason="unicast_source",vrid="51"`: 0,
		`iname="VI_6",intf="eth1",reason="packet_length",vrid="52"`:  0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("lvs_ha_vrrp_rx_errors_total{%s} = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

// gatherValues returns the values of family name keyed by its sorted labels
// as `a="x",b="y"`.
func gatherValues(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, lp := range m.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			}
			out[strings.Join(parts, ",")] = v
		}
	}
	return out
}

func TestIPVSReadError(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(Sources{IPVS: IPVSFunc(func() (ipvs.Table, error) { return ipvs.Table{}, errors.New("no ip_vs") })})
	want := `
# HELP lvs_ha_ipvs_up Whether the IPVS table could be read at this scrape.
# TYPE lvs_ha_ipvs_up gauge
lvs_ha_ipvs_up 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lvs_ha_ipvs_up", "node_ipvs_backend_weight", "keepalived_up"); err != nil {
		t.Error(err)
	}
}

// TestSyncReadError: a kernel without ip_vs (or any read error) leaves the
// sync series out instead of failing the scrape, and one failing read does
// not hide the other.
func TestSyncReadError(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(Sources{Sync: SyncFuncs{
		Daemons:     func() ([]ipvs.SyncDaemon, error) { return nil, ipvs.ErrNoConnSync },
		Connections: func() ([]ipvs.SyncConnection, error) { return fakeSync().Connections() },
	}})
	if n, err := testutil.GatherAndCount(reg, "lvs_ha_ipvs_sync_daemon_up"); err != nil || n != 0 {
		t.Errorf("sync_daemon_up: %d series, %v; want none", n, err)
	}
	if n, err := testutil.GatherAndCount(reg, "lvs_ha_ipvs_connections"); err != nil || n != 4 {
		t.Errorf("connections: %d series, %v; want 4", n, err)
	}
	m.SetSources(Sources{Sync: SyncFuncs{
		Connections: func() ([]ipvs.SyncConnection, error) { return nil, errors.New("read: EIO") },
	}})
	if n, err := testutil.GatherAndCount(reg, "lvs_ha_ipvs_connections"); err != nil || n != 0 {
		t.Errorf("connections after error: %d series, %v; want none", n, err)
	}
}

func TestNoSourcesAndTypedNil(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r *runner.Runner
	var k *ipvs.Netlink
	m.SetSources(Sources{VRRP: r, IPVS: k, Health: HealthFunc(nil)})
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	// build info, reloads{success,failure}, last_reload_successful,
	// timestamp, unsupported_keywords, smtp_alerts{sent,failed,dropped}.
	if n != 9 {
		t.Errorf("got %d series without sources, want 9", n)
	}
}

func TestTwoDaemonsOneProcess(t *testing.T) {
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, err := New(regA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(regB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.ConfigReloaded(t0, nil)
	a.ObserveCheck(chk1, healthcheck.Result{Reason: healthcheck.ReasonTimeout})
	b.ConfigReloaded(t0, errors.New("x"))
	if got := gatherValues(t, regA, "lvs_ha_config_reloads_total"); got[`result="success"`] != 1 || got[`result="failure"`] != 0 {
		t.Errorf("daemon A reloads = %v", got)
	}
	if got := gatherValues(t, regB, "lvs_ha_config_reloads_total"); got[`result="success"`] != 0 || got[`result="failure"`] != 1 {
		t.Errorf("daemon B reloads = %v", got)
	}
	if n, _ := testutil.GatherAndCount(regB, "lvs_ha_healthcheck_failures_total"); n != 0 {
		t.Errorf("daemon B has %d failure series from daemon A", n)
	}
	// Registering twice on one registry is an error, not a panic.
	if _, err := New(regA, Options{}); err == nil {
		t.Error("second New on one registry succeeded")
	}
}

func TestRetainChecks(t *testing.T) {
	reg, m := newFull(t)
	m.RetainChecks([]CheckInfo{chk1})
	if n, _ := testutil.GatherAndCount(reg, "lvs_ha_healthcheck_failures_total"); n != 0 {
		t.Errorf("failures of the removed check remain: %d series", n)
	}
	got := gatherValues(t, reg, "lvs_ha_healthcheck_duration_seconds")
	if len(got) != 1 {
		t.Errorf("duration series after RetainChecks: %v, want only HTTP_GET's", got)
	}
}

func TestLint(t *testing.T) {
	reg, _ := newFull(t)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestVIPsOf(t *testing.T) {
	cfgs := []runner.InstanceConfig{{
		Machine:   vrrp.Options{Name: "VI_1"},
		Interface: "eth0",
		VIPs: []vip.Address{
			{Prefix: netip.MustParsePrefix("192.0.2.10/24")},
			{Prefix: netip.MustParsePrefix("192.0.2.11/32"), Dev: "eth1"},
		},
		ExcludedVIPs: []vip.Address{{Prefix: netip.MustParsePrefix("2001:db8::1/64")}},
	}, {Machine: vrrp.Options{Name: "VI_2"}, Interface: "eth2"}}
	got := VIPsOf(cfgs)
	want := map[string][]VIP{
		"VI_1": {
			{Addr: netip.MustParseAddr("192.0.2.10"), Interface: "eth0"},
			{Addr: netip.MustParseAddr("192.0.2.11"), Interface: "eth1"},
			{Addr: netip.MustParseAddr("2001:db8::1"), Interface: "eth0", Excluded: true},
		},
		"VI_2": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("VIPsOf = %v, want %v", got, want)
	}
}

func TestConcurrentScrapeAndObserve(t *testing.T) {
	reg, m := newFull(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			m.ObserveCheck(chk2, healthcheck.Result{Reason: healthcheck.ReasonReset, Duration: time.Millisecond})
			m.SetSources(fakeSources())
		}
	}()
	for range 20 {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

// TestUnsupportedKeywordsGauge: the gauge holds the last count set.
func TestUnsupportedKeywordsGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetUnsupportedKeywords(3)
	if got := testutil.ToFloat64(m.unsupported); got != 3 {
		t.Errorf("lvs_ha_config_unsupported_keywords = %v, want 3", got)
	}
}

// TestObserveCheckNoAllocs: a passing check's result is recorded on its
// cached series (no label slice, no label hashing per result), and a check
// removed by RetainChecks and seen again gets a fresh series.
func TestObserveCheckNoAllocs(t *testing.T) {
	reg, m := newFull(t)
	ok := healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK, Duration: time.Millisecond}
	m.ObserveCheck(chk1, ok)
	if n := testing.AllocsPerRun(100, func() { m.ObserveCheck(chk1, ok) }); n != 0 {
		t.Errorf("ObserveCheck of a passing check: %v allocations, want 0", n)
	}
	m.RetainChecks(nil)
	if n, _ := testutil.GatherAndCount(reg, "lvs_ha_healthcheck_duration_seconds"); n != 0 {
		t.Fatalf("duration series after RetainChecks(nil): %d", n)
	}
	m.ObserveCheck(chk1, ok)
	if n, _ := testutil.GatherAndCount(reg, "lvs_ha_healthcheck_duration_seconds"); n != 1 {
		t.Errorf("duration series after a new observation: %d, want 1", n)
	}
}

func BenchmarkObserveCheck(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	ok := healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveCheck(chk1, ok)
	}
}
