package status

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/bgp"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

func TestBGPSection(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	st := metrics.BGPState{Mode: "speaker",
		Speaker: &bgp.Status{RouterID: netip.MustParseAddr("10.251.0.11"), LocalAS: 65101, Peers: []bgp.PeerStatus{
			{Address: netip.MustParseAddr("10.251.0.1"), RemoteAS: 65000, State: "established", Since: now.Add(-90 * time.Second), BFD: "up", Transitions: 1},
			{Address: netip.MustParseAddr("10.251.0.2"), RemoteAS: 65000, State: "active"},
		}},
		Prefixes: []metrics.BGPPrefix{
			{Prefix: netip.MustParsePrefix("10.251.9.1/32"), Eligible: true, Announced: true, Reason: "healthy: TCP 10.251.9.1:80 3/1", Since: now.Add(-80 * time.Second)},
			{Prefix: netip.MustParsePrefix("10.251.9.2/32"), Reason: "virtual_server TCP 10.251.9.2:80: 0 healthy real servers, min_healthy 1"},
		}}
	doc := Build(metrics.Sources{BGP: metrics.BGPFunc(func() metrics.BGPState { return st })}, "v", now)
	var out bytes.Buffer
	if err := RenderTable(&out, doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"BGP: router_id 10.251.0.11, AS 65101",
		"10.251.0.1  65000  established  1m30s ago  up   1",
		"10.251.0.2  65000  active       -          -    0",
		"10.251.9.1/32  yes        yes       1m20s ago  healthy: TCP 10.251.9.1:80 3/1",
		"10.251.9.2/32  no         no        -          virtual_server TCP 10.251.9.2:80: 0 healthy real servers, min_healthy 1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	b, err := json.Marshal(doc)
	if err != nil || !strings.Contains(string(b), `"bgp":{"mode":"speaker","speaker":{"router_id":"10.251.0.11"`) {
		t.Errorf("JSON %s (%v)", b, err)
	}
	out.Reset()
	doc.BGP = &metrics.BGPState{Mode: "route_only", Interface: "dummy0"}
	_ = RenderTable(&out, doc)
	if !strings.Contains(out.String(), "BGP: route-only mode, announced VIPs on dummy0") {
		t.Errorf("route-only:\n%s", out.String())
	}
}
