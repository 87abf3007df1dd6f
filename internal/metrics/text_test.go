package metrics

import (
	"bytes"
	"io"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// trickyTable has what the direct writer must order and sum as Gather
// does: addresses and ports whose text order is not their numeric order,
// IPv6 next to IPv4, one address and port under three protocols, fwmarks
// whose hex text orders as the numbers, three services of one mark (summed
// in table order, with counters beyond float64's integers) whose
// destinations repeat, an unknown protocol, label values to escape (a zone),
// the zero address, destinations of another family, nil counters and a
// service without destinations.
func trickyTable() ipvs.Table {
	a := netip.MustParseAddr
	ap := func(p ipvs.Protocol, s string) ipvs.ServiceKey { return ipvs.AddrKey(p, netip.MustParseAddrPort(s)) }
	big := uint64(1)<<53 + 1
	st := func(n uint64) *ipvs.Stats {
		return &ipvs.Stats{Conns: n, InPkts: n + 1, OutPkts: 2 * n, InBytes: big, OutBytes: n * 1000}
	}
	ds := func(n uint32, conns uint64) *ipvs.DestStats {
		return &ipvs.DestStats{ActiveConns: n, InactConns: n + 1, PersistConns: 2 * n,
			Stats: ipvs.Stats{Conns: conns, InPkts: big, OutPkts: 3, InBytes: big + 2, OutBytes: 7}}
	}
	dest := func(addr string, port uint16, w int32, s *ipvs.DestStats) ipvs.Destination {
		return ipvs.Destination{Addr: a(addr), Port: port, Weight: w, Stats: s}
	}
	mark := func(f ipvs.Family, m uint32, s *ipvs.Stats, d ...ipvs.Destination) ipvs.Service {
		return ipvs.Service{Key: ipvs.FWMarkKey(f, m), Stats: s, Destinations: d}
	}
	return ipvs.Table{Services: []ipvs.Service{
		{Key: ap(ipvs.TCP, "10.1.0.2:80"), Stats: st(1), Destinations: []ipvs.Destination{
			dest("10.2.0.10", 8080, 1, ds(1, 1)), dest("10.2.0.9", 8080, 2, ds(2, 2)),
			dest("10.2.0.10", 10, 3, nil), dest("10.2.0.10", 9, 4, ds(3, 3)), dest("fd00::2", 80, 5, ds(4, 4)),
			dest("1.2.3.4", 80, 6, ds(5, 5)),
		}},
		{Key: ap(ipvs.TCP, "10.1.0.10:80"), Stats: st(2), Destinations: []ipvs.Destination{dest("10.2.0.1", 80, 1, ds(1, 1))}},
		{Key: ap(ipvs.UDP, "10.1.0.10:80"), Destinations: []ipvs.Destination{dest("10.2.0.1", 80, 1, nil)}},
		{Key: ap(ipvs.SCTP, "10.1.0.10:80"), Stats: st(3)},
		{Key: ap(ipvs.TCP, "10.1.0.10:8"), Stats: st(4), Destinations: []ipvs.Destination{dest("10.2.0.1", 8, 1, ds(1, 1))}},
		{Key: ap(ipvs.TCP, "10.1.0.10:10"), Stats: st(5), Destinations: []ipvs.Destination{dest("10.2.0.1", 10, 1, ds(1, 1))}},
		{Key: ap(ipvs.TCP, "[fd00::1]:443"), Stats: st(6), Destinations: []ipvs.Destination{
			dest("fd00::10", 443, 1, ds(1, 1)), dest("10.2.0.1", 443, 1, ds(1, 1)),
			dest(`fe80::1%e"t\h`, 443, 1, ds(1, 1)), {Port: 443, Weight: 1},
		}},
		{Key: ipvs.ServiceKey{Family: ipvs.FamilyIPv4, Protocol: 7, Addr: a("10.1.0.3"), Port: 7}, Stats: st(7),
			Destinations: []ipvs.Destination{dest("10.2.0.3", 7, 1, ds(1, 1))}},
		mark(ipvs.FamilyIPv4, 16, st(8), dest("10.3.0.1", 0, 1, ds(1, 1))),
		mark(ipvs.FamilyIPv4, 10, st(1), dest("10.3.0.2", 0, 1, ds(1, 1)), dest("10.3.0.1", 0, 2, ds(2, 1)),
			dest("10.3.0.2", 0, 5, ds(7, 1))),
		mark(ipvs.FamilyIPv6, 10, st(1), dest("10.3.0.2", 0, 3, ds(3, 1)), dest("fd00::3", 0, 1, ds(1, 1))),
		mark(ipvs.FamilyIPv4, 10, st(big), dest("10.3.0.2", 0, 4, ds(4, big))),
		mark(ipvs.FamilyIPv6, 9, nil, dest("fd00::3", 0, 1, nil)),
		mark(ipvs.FamilyIPv4, 0xffffffff, st(9)),
	}}
}

// gatherText renders src through promhttp with the IPVS collector on the
// registry and through the direct writer, without the other families.
func gatherText(t *testing.T, src IPVSSource) (gather, direct []byte) {
	t.Helper()
	for _, d := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		m, err := New(reg, Options{DirectIPVS: d})
		if err != nil {
			t.Fatal(err)
		}
		m.SetSources(Sources{IPVS: src})
		g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			mfs, err := reg.Gather()
			return dropRuntime(mfs), err
		})
		if !d {
			rec := httptest.NewRecorder()
			promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if rec.Code != 200 {
				t.Fatalf("gather: %d %s", rec.Code, rec.Body.Bytes())
			}
			gather = rec.Body.Bytes()
			continue
		}
		direct = serve(t, m, g, "", "")
	}
	return gather, direct
}

// The direct writer orders, sums, formats and escapes the tricky rows as
// promhttp does over the collector.
func TestDirectIPVSTrickyTable(t *testing.T) {
	for name, tab := range map[string]ipvs.Table{"tricky": trickyTable(), "1000x10": scaleTable(1000, 10)} {
		t.Run(name, func(t *testing.T) {
			gather, direct := gatherText(t, IPVSFunc(func() (ipvs.Table, error) { return tab, nil }))
			if !bytes.Equal(gather, direct) {
				t.Errorf("direct IPVS text differs from Gather's:\n--- gather\n%s\n--- direct\n%s", gather, direct)
			}
			for _, want := range []string{
				// Summed in table order: 1 + 1 + 2^53 is 2^53+2 in float64, 2^53 + 1 + 1 would be 2^53.
				`lvs_ha_ipvs_service_connections_total{local_address="",local_mark="0000000A",local_port="0",proto="FWM"} 9.007199254740994e+15`,
				`remote_address="fe80::1%e\"t\\h"`,
				`node_ipvs_backend_weight{local_address="",local_mark="0000000A",local_port="0",proto="FWM",remote_address="10.3.0.2",remote_port="0"} 13`,
				`remote_address="invalid IP"`,
				`proto="proto(7)"`,
			} {
				if name == "tricky" && !bytes.Contains(direct, []byte(want)) {
					t.Errorf("no %s in\n%s", want, direct)
				}
			}
		})
	}
}

// A scrape allocates a fixed number of objects and a few bytes per row
// (the two sorted indexes), whatever the table's size: no row is kept.
func TestDirectIPVSAllocs(t *testing.T) {
	var allocs []float64
	for _, size := range [][2]int{{100, 2}, {2000, 10}} {
		tab := scaleTable(size[0], size[1])
		m, err := New(prometheus.NewRegistry(), Options{DirectIPVS: true})
		if err != nil {
			t.Fatal(err)
		}
		m.SetSources(Sources{IPVS: IPVSFunc(func() (ipvs.Table, error) { return tab, nil })})
		scrape := func() {
			if err := m.WriteText(io.Discard, nil); err != nil {
				t.Fatal(err)
			}
		}
		allocs = append(allocs, testing.AllocsPerRun(5, scrape))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		scrape()
		runtime.ReadMemStats(&after)
		rows := size[0] * (1 + size[1])
		if b := after.TotalAlloc - before.TotalAlloc; b > 128<<10+16*uint64(rows) {
			t.Errorf("%d x %d: %d bytes allocated by a scrape of %d rows", size[0], size[1], b, rows)
		}
	}
	if allocs[0] != allocs[1] || allocs[1] > 20 {
		t.Errorf("allocations per scrape: %v at 100 x 2, %v at 2,000 x 10; want the same, at most 20", allocs[0], allocs[1])
	}
}
