package metrics

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

var (
	t0  = time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	vs1 = ipvs.AddrKey(ipvs.TCP, netip.MustParseAddrPort("10.0.0.1:80"))
	rs1 = netip.MustParseAddrPort("10.0.1.1:80")
	rs2 = netip.MustParseAddrPort("10.0.1.2:80")
)

func fakeVRRP() runner.Stats {
	return runner.Stats{
		Instances: []runner.InstanceStats{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Family: vrrp.FamilyIPv4, SyncGroup: "G1",
			State: vrrp.StateMaster, BasePriority: 100, EffectivePriority: 90,
			MasterAddr: netip.MustParseAddr("192.0.2.1"), MasterPriority: 90,
			LastTransition: t0, LastTransitionReason: "master down timer",
			AdvertsSent: 1000, AdvertsReceived: 10, BecomeMaster: 2, ReleaseMaster: 1,
			PriorityZeroSent: 1, PriorityZeroReceived: 3,
			RxErrors: map[vrrp.Reason]uint64{
				vrrp.ReasonPacketLength: 1, vrrp.ReasonInvalidTTL: 2, vrrp.ReasonInvalidType: 3,
				vrrp.ReasonAdvertInterval: 4, vrrp.ReasonAddressList: 5, vrrp.ReasonAuthType: 6,
				vrrp.ReasonAuthTypeMismatch: 7, vrrp.ReasonAuthFailure: 8, vrrp.ReasonChecksum: 9,
			},
			AddressListMismatch: 10, SendErrors: 11, VIPErrors: 12, GARPsSent: 13, GARPErrors: 14,
			Trackers: []track.Status{
				{Kind: track.KindScript, Name: "chk_nginx", State: track.StateOK, Weight: -10},
				{Kind: track.KindInterface, Name: "eth1", State: track.StateFail},
			},
		}, {
			Name: "VI_6", VRID: 52, Interface: "eth1", Family: vrrp.FamilyIPv6,
			State: vrrp.StateBackup, BasePriority: 50, EffectivePriority: 50,
		}},
		SyncGroups:    []runner.SyncGroupStats{{Name: "G1", Members: []string{"VI_1"}, State: vrrp.StateMaster}},
		RxUnknownVRID: 21, RxTooShort: 22, RecvErrors: 23,
	}
}

var fakeVIPs = map[string][]VIP{
	"VI_1": {
		{Addr: netip.MustParseAddr("192.0.2.10"), Interface: "eth0"},
		{Addr: netip.MustParseAddr("192.0.2.11"), Interface: "eth0.10"},
		{Addr: netip.MustParseAddr("2001:db8::10"), Interface: "eth0", Excluded: true},
	},
}

func fakeTable() ipvs.Table {
	return ipvs.Table{Services: []ipvs.Service{{
		Key: vs1, Scheduler: "wrr",
		Stats: &ipvs.Stats{Conns: 100, InPkts: 200, OutPkts: 300, InBytes: 4000, OutBytes: 5000},
		Destinations: []ipvs.Destination{{
			Addr: rs1.Addr(), Port: rs1.Port(), Method: ipvs.DR, Weight: 10,
			Stats: &ipvs.DestStats{Stats: ipvs.Stats{Conns: 60, InPkts: 120, OutPkts: 180, InBytes: 2400, OutBytes: 3000},
				ActiveConns: 5, InactConns: 6, PersistConns: 7},
		}, {
			Addr: rs2.Addr(), Port: rs2.Port(), Method: ipvs.DR, Weight: 0,
		}},
	}, {
		Key:   ipvs.FWMarkKey(ipvs.FamilyIPv4, 10),
		Stats: &ipvs.Stats{Conns: 1},
		Destinations: []ipvs.Destination{{Addr: netip.MustParseAddr("10.0.2.1"), Weight: 1,
			Stats: &ipvs.DestStats{ActiveConns: 1}}},
	}, {
		Key:   ipvs.FWMarkKey(ipvs.FamilyIPv6, 10),
		Stats: &ipvs.Stats{Conns: 2},
		Destinations: []ipvs.Destination{{Addr: netip.MustParseAddr("10.0.2.1"), Method: ipvs.Tunnel, Weight: 2,
			Stats: &ipvs.DestStats{ActiveConns: 2}}},
	}}}
}

var (
	chk1 = CheckInfo{ID: "vs1/rs1/HTTP_GET", VirtualServer: "10.0.0.1 80", RealServer: rs1, Checker: "HTTP_GET"}
	chk2 = CheckInfo{ID: "vs1/rs2/TCP_CHECK", VirtualServer: "10.0.0.1 80", RealServer: rs2, Checker: "TCP_CHECK"}
)

func fakeHealth() []CheckStatus {
	return []CheckStatus{{
		CheckInfo: chk1, Services: []ipvs.ServiceKey{vs1},
		State: healthcheck.State{Up: true, HasRun: true, LastAt: t0,
			Last: healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK, Duration: 3 * time.Millisecond}},
	}, {
		CheckInfo: chk2, Services: []ipvs.ServiceKey{vs1},
		State: healthcheck.State{HasRun: true, LastAt: t0,
			Last: healthcheck.Result{Reason: healthcheck.ReasonRefused, Detail: "connect: connection refused", Duration: time.Millisecond}},
	}}
}

func fakeSync() SyncFuncs {
	ap := netip.MustParseAddrPort
	conn := func(origin ipvs.Origin, proto, state string) ipvs.SyncConnection {
		return ipvs.SyncConnection{Protocol: proto, Client: ap("192.0.2.99:40000"), Virtual: ap("10.0.0.1:80"),
			Dest: rs1, State: state, Origin: origin, Expires: time.Minute}
	}
	return SyncFuncs{
		Daemons: func() ([]ipvs.SyncDaemon, error) {
			return []ipvs.SyncDaemon{
				{State: ipvs.SyncMaster, Interface: "eth1", SyncID: 51},
				{State: ipvs.SyncBackup, Interface: "eth1", SyncID: 51, McastGroup: netip.MustParseAddr("239.0.0.81")},
			}, nil
		},
		Connections: func() ([]ipvs.SyncConnection, error) {
			return []ipvs.SyncConnection{
				conn(ipvs.OriginLocal, "TCP", "ESTABLISHED"), conn(ipvs.OriginSync, "TCP", "ESTABLISHED"),
				conn(ipvs.OriginSync, "TCP", "ESTABLISHED"), conn(ipvs.OriginSync, "TCP", "FIN_WAIT"),
				conn(ipvs.OriginLocal, "UDP", "UDP"),
			}, nil
		},
	}
}

func fakeSources() Sources {
	return Sources{
		Sync:    fakeSync(),
		VRRP:    VRRPFunc(fakeVRRP),
		VIPs:    fakeVIPs,
		IPVS:    IPVSFunc(func() (ipvs.Table, error) { return fakeTable(), nil }),
		Health:  HealthFunc(fakeHealth),
		Desired: fakeTable(),
	}
}

// newFull returns Metrics on a fresh registry (without Go/process
// collectors) in which every lvs-ha family has at least one series.
func newFull(t testing.TB) (*prometheus.Registry, *Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{Version: "1.2.3", Revision: "abc123", DurationBuckets: []float64{.001, .0025, .005}})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(fakeSources())
	m.ObserveCheck(chk1, healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK, Duration: 3 * time.Millisecond})
	m.ObserveCheck(chk2, healthcheck.Result{Reason: healthcheck.ReasonRefused, Duration: 700 * time.Microsecond})
	m.ObserveCheck(chk2, healthcheck.Result{Reason: healthcheck.ReasonTimeout, Duration: 2 * time.Second})
	m.ConfigReloaded(t0, nil)
	m.ConfigReloaded(t0.Add(time.Minute), errors.New("bad config"))
	return reg, m
}
