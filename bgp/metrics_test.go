package bgp

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/promtooltest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// promtoolCheck runs `promtool check metrics` on mfs when promtool is
// installed (promtooltest.Path).
func promtoolCheck(t *testing.T, mfs []*dto.MetricFamily) {
	t.Helper()
	p, ok := promtooltest.Path(t)
	if !ok {
		return
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(p, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestDocsListEverySeries checks that docs/metrics.md lists exactly the
// lvs_ha_bgp_* families the collector exposes, with types and labels.
func TestDocsListEverySeries(t *testing.T) {
	f, err := os.Open("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `lvs_ha_bgp_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		clean := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		var labels []string
		for l := range strings.SplitSeq(cells[2], ",") {
			if l = clean(l); l != "" && l != "—" {
				labels = append(labels, l)
			}
		}
		doc = append(doc, clean(cells[0])+" "+strings.TrimSpace(cells[1])+" {"+strings.Join(labels, ",")+"}")
	}

	// A speaker with a BFD neighbor and a prefix exposes every family.
	reg := prometheus.NewPedanticRegistry()
	o := opts(Neighbor{Address: netip.MustParseAddr("192.0.2.1"), RemoteAS: 65000, BFD: &BFD{}})
	s, err := New(o, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(netip.MustParsePrefix("10.0.0.1/32"), "test"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	promtoolCheck(t, mfs)
	var got []string
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		got = append(got, mf.GetName()+" "+strings.ToLower(mf.GetType().String())+" {"+strings.Join(labels, ",")+"}")
	}
	slices.Sort(doc)
	slices.Sort(got)
	if !slices.Equal(doc, got) {
		t.Errorf("docs/metrics.md lists\n  %s\nthe collector exposes\n  %s", strings.Join(doc, "\n  "), strings.Join(got, "\n  "))
	}
}

// TestMetricsBeforeRun: series exist (peer down) before Run, so an alert on
// lvs_ha_bgp_peer_up == 0 fires for a speaker that never started.
func TestMetricsBeforeRun(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, err := New(opts(Neighbor{Address: netip.MustParseAddr("192.0.2.1"), RemoteAS: 65000}), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "lvs_ha_bgp_peer_up" && mf.GetMetric()[0].GetGauge().GetValue() != 0 {
			t.Errorf("peer up before Run")
		}
	}
	if st := s.Status(); st.Peers[0].State != "unknown" || st.Running {
		t.Errorf("status before Run: %+v", st)
	}
}
