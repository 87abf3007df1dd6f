package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

var (
	t0  = time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	now = t0.Add(75 * time.Second)
	vs1 = ipvs.AddrKey(ipvs.TCP, netip.MustParseAddrPort("10.0.0.1:80"))
	vs2 = ipvs.AddrKey(ipvs.UDP, netip.MustParseAddrPort("[2001:db8::1]:53"))
	rs1 = netip.MustParseAddrPort("10.0.1.1:80")
	rs2 = netip.MustParseAddrPort("10.0.1.2:80")
	rs3 = netip.MustParseAddrPort("10.0.1.3:80")
)

func fakeSources() metrics.Sources {
	desired := ipvs.Table{Services: []ipvs.Service{{
		Key: vs1, Scheduler: "wrr",
		Destinations: []ipvs.Destination{
			{Addr: rs1.Addr(), Port: rs1.Port(), Method: ipvs.DR, Weight: 10},
			{Addr: rs2.Addr(), Port: rs2.Port(), Method: ipvs.DR, Weight: 10},
			{Addr: rs3.Addr(), Port: rs3.Port(), Method: ipvs.DR, Weight: 5},
		},
	}}}
	live := ipvs.Table{Services: []ipvs.Service{{
		Key: vs1, Scheduler: "wrr", Stats: &ipvs.Stats{Conns: 1234},
		Destinations: []ipvs.Destination{
			{Addr: rs1.Addr(), Port: rs1.Port(), Method: ipvs.DR, Weight: 10,
				Stats: &ipvs.DestStats{ActiveConns: 5, InactConns: 6}},
			{Addr: rs3.Addr(), Port: rs3.Port(), Method: ipvs.DR, Weight: 5},
		},
	}, {
		Key: vs2, Scheduler: "rr",
	}}}
	checks := []metrics.CheckStatus{{
		CheckInfo: metrics.CheckInfo{ID: "a", VirtualServer: "10.0.0.1 80", RealServer: rs1, Checker: "HTTP_GET"},
		Services:  []ipvs.ServiceKey{vs1},
		State: healthcheck.State{Up: true, HasRun: true, LastAt: t0.Add(70 * time.Second),
			Last: healthcheck.Result{OK: true, Reason: "ok", Duration: 3 * time.Millisecond}},
	}, {
		CheckInfo: metrics.CheckInfo{ID: "b", VirtualServer: "10.0.0.1 80", RealServer: rs2, Checker: "TCP_CHECK"},
		Services:  []ipvs.ServiceKey{vs1},
		State: healthcheck.State{HasRun: true, LastAt: t0.Add(72 * time.Second),
			Last: healthcheck.Result{Reason: "refused", Detail: "connect: connection refused", Duration: time.Millisecond}},
	}, {
		CheckInfo: metrics.CheckInfo{ID: "c", VirtualServer: "10.0.0.1 80", RealServer: rs3, Checker: "MISC_CHECK"},
		Services:  []ipvs.ServiceKey{vs1},
		State:     healthcheck.State{Up: true},
	}}
	return metrics.Sources{
		VRRP: metrics.VRRPFunc(func() runner.Stats {
			return runner.Stats{
				Instances: []runner.InstanceStats{{
					Name: "VI_1", VRID: 51, Interface: "eth0", Family: vrrp.FamilyIPv4, SyncGroup: "G1",
					State: vrrp.StateMaster, BasePriority: 100, EffectivePriority: 90,
					MasterAddr: netip.MustParseAddr("192.0.2.1"), MasterPriority: 90,
					LastTransition: t0, LastTransitionReason: "master down timer",
				}, {
					Name: "VI_6", VRID: 52, Interface: "eth1", Family: vrrp.FamilyIPv6,
					State: vrrp.StateFault, BasePriority: 50, EffectivePriority: 50, Fault: true,
				}},
				SyncGroups: []runner.SyncGroupStats{{Name: "G1", Members: []string{"VI_1"}, State: vrrp.StateMaster}},
			}
		}),
		VIPs: map[string][]metrics.VIP{"VI_1": {
			{Addr: netip.MustParseAddr("192.0.2.10"), Interface: "eth0"},
			{Addr: netip.MustParseAddr("192.0.2.11"), Interface: "eth0"},
			{Addr: netip.MustParseAddr("2001:db8::10"), Interface: "eth0", Excluded: true},
		}},
		IPVS:    metrics.IPVSFunc(func() (ipvs.Table, error) { return live, nil }),
		Health:  metrics.HealthFunc(func() []metrics.CheckStatus { return checks }),
		Desired: desired,
		Sync: metrics.SyncFuncs{
			Daemons: func() ([]ipvs.SyncDaemon, error) {
				return []ipvs.SyncDaemon{
					{State: ipvs.SyncMaster, Interface: "eth1", SyncID: 51, MaxLen: 1472,
						McastGroup: netip.MustParseAddr("239.0.0.81"), McastPort: 8848, McastTTL: 1},
					{State: ipvs.SyncBackup, Interface: "eth1", SyncID: 51, MaxLen: 1472,
						McastGroup: netip.MustParseAddr("239.0.0.81"), McastPort: 8848, McastTTL: 1},
				}, nil
			},
			Connections: func() ([]ipvs.SyncConnection, error) {
				return []ipvs.SyncConnection{
					{Protocol: "TCP", State: "ESTABLISHED", Origin: ipvs.OriginLocal},
					{Protocol: "TCP", State: "ESTABLISHED", Origin: ipvs.OriginSync},
					{Protocol: "TCP", State: "FIN_WAIT", Origin: ipvs.OriginSync},
				}, nil
			},
		},
	}
}

type staticSources metrics.Sources

func (s staticSources) Sources() metrics.Sources { return metrics.Sources(s) }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestBuildAndRender(t *testing.T) {
	tests := []struct {
		name string
		src  metrics.Sources
	}{
		{"full", fakeSources()},
		{"empty", metrics.Sources{}},
		{"ipvs_error", func() metrics.Sources {
			s := fakeSources()
			s.IPVS = metrics.IPVSFunc(func() (ipvs.Table, error) { return ipvs.Table{}, errors.New("IPVS unavailable: no ip_vs module") })
			noIPVS := func() ([]ipvs.SyncDaemon, error) { return nil, ipvs.ErrNoConnSync }
			s.Sync = metrics.SyncFuncs{Daemons: noIPVS, Connections: func() ([]ipvs.SyncConnection, error) { return nil, ipvs.ErrNoConnSync }}
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := Build(tt.src, "1.2.3", now)
			js, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".json", append(js, '\n'))
			var buf bytes.Buffer
			if err := RenderTable(&buf, doc); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".txt", buf.Bytes())
			// The JSON round-trips to the same table (what lvs-ha status does).
			var back Document
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			var buf2 bytes.Buffer
			if err := RenderTable(&buf2, back); err != nil {
				t.Fatal(err)
			}
			if buf.String() != buf2.String() {
				t.Errorf("table from decoded JSON differs:\n%s\nvs\n%s", buf2.String(), buf.String())
			}
		})
	}
}

// TestConnSyncReadErrors: with ip_vs loaded, a failed read is reported and
// the other half still shown; no sync daemon is said as such.
func TestConnSyncReadErrors(t *testing.T) {
	src := metrics.Sources{Sync: metrics.SyncFuncs{
		Daemons:     func() ([]ipvs.SyncDaemon, error) { return nil, nil },
		Connections: func() ([]ipvs.SyncConnection, error) { return nil, errors.New("read ip_vs_conn_sync: EIO") },
	}}
	doc := Build(src, "", now)
	if doc.ConnSync == nil || doc.ConnSync.Connections != nil || doc.ConnSync.Error != "read ip_vs_conn_sync: EIO" {
		t.Fatalf("ConnSync = %+v", doc.ConnSync)
	}
	var buf bytes.Buffer
	if err := RenderTable(&buf, doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SYNC DAEMONS: none running", "SYNC: read ip_vs_conn_sync: EIO"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestHealth(t *testing.T) {
	doc := Build(fakeSources(), "", now)
	got := map[string]string{}
	for _, rs := range doc.VirtualServers[0].RealServers {
		got[rs.Address] = rs.Health
	}
	want := map[string]string{"10.0.1.1:80": HealthUp, "10.0.1.2:80": HealthDown, "10.0.1.3:80": HealthUnknown}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("health of %s = %q, want %q", k, got[k], v)
		}
	}
	if rs := doc.VirtualServers[0].RealServers[1]; rs.Weight != nil || rs.ConfiguredWeight == nil || *rs.ConfiguredWeight != 10 {
		t.Errorf("real server removed from the kernel: weight %v configured %v, want nil and 10", rs.Weight, rs.ConfiguredWeight)
	}
}

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "1.2.3", Revision: "r"})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(fakeSources())
	srv := httptest.NewServer(NewServer(reg, m, Options{Now: func() time.Time { return now }, Version: "1.2.3"}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		method, path string
		code         int
		ctype        string
		contains     string
	}{
		{"GET", "/metrics", 200, "text/plain", `keepalived_vrrp_state{iname="VI_1",intf="eth0",ip_address="192.0.2.10",vrid="51"} 2`},
		{"GET", "/metrics", 200, "text/plain", `node_ipvs_backend_weight{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.1.1",remote_port="80"} 10`},
		{"GET", "/status", 200, "application/json", `"state": "MASTER"`},
		{"GET", "/", 200, "text/plain", "/metrics"},
		{"POST", "/status", 405, "", ""},
		{"GET", "/nope", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body lacks %q:\n%s", tt.contains, body)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	srv := newTestServer(t)
	for _, addr := range []string{srv.URL, strings.TrimPrefix(srv.URL, "http://"), srv.URL + "/"} {
		doc, raw, err := Fetch(context.Background(), srv.Client(), addr)
		if err != nil {
			t.Fatalf("Fetch(%q): %v", addr, err)
		}
		if len(doc.Instances) != 2 || doc.Instances[0].Master != "192.0.2.1" || !json.Valid(raw) {
			t.Errorf("Fetch(%q) = %+v", addr, doc.Instances)
		}
	}
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	if _, _, err := Fetch(context.Background(), bad.Client(), bad.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Fetch from a 404 server: err = %v", err)
	}
}

func TestServeStopsOnContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(prometheus.NewRegistry(), staticSources(fakeSources()), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	if _, _, err := Fetch(context.Background(), nil, ln.Addr().String()); err != nil {
		t.Fatalf("Fetch while serving: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeListener after cancel = %v, want nil", err)
	}
	if _, _, err := Fetch(context.Background(), nil, ln.Addr().String()); err == nil {
		t.Error("server still answers after cancel")
	}
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := NewServer(prometheus.NewRegistry(), staticSources{}, Options{})
	err = s.Serve(context.Background(), ln.Addr().String()) // port taken
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Serve on a taken port = %v, want a listen error", err)
	}
}

// scaleSources is a 10,000 x 10 table, configured and in the kernel.
func scaleSources() metrics.Sources {
	t := ipvs.Table{Services: make([]ipvs.Service, 10000)}
	for i := range t.Services {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		s := ipvs.Service{Key: ipvs.AddrKey(ipvs.TCP, netip.AddrPortFrom(vip, 80)), Scheduler: "wrr"}
		for j := range 10 {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
			s.Destinations = append(s.Destinations, ipvs.Destination{Addr: rip, Port: uint16(8000 + j), Weight: int32(j + 1)})
		}
		t.Services[i] = s
	}
	return metrics.Sources{IPVS: metrics.IPVSFunc(func() (ipvs.Table, error) { return t, nil }), Desired: t}
}

// BenchmarkStatus is one GET /status at 10,000 services x 10 real servers.
func BenchmarkStatus(b *testing.B) {
	srv := NewServer(prometheus.NewRegistry(), staticSources(scaleSources()), Options{Now: func() time.Time { return now }})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		n = rec.Body.Len()
	}
	b.ReportMetric(float64(n), "body-bytes")
}
