package integration

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchEnv enables TestBenchFailover (`make bench-failover`).
const benchEnv = "LVSHA_BENCH"

// failoverRun is one measured SIGKILL failover.
type failoverRun struct {
	killToGARP     time.Duration // SIGKILL sent -> first GARP of the backup at the client
	decisionToGARP time.Duration // backup's MASTER log line -> that GARP
}

// TestBenchFailover measures the SIGKILL failover of an lvs-ha pair and of a
// keepalived pair on the same topology and settings (v2 advert_int 1; v3
// advert_int 0.1): from the kill to the first gratuitous ARP of the backup captured
// at the client (kernel timestamps, same clock), and from the backup's transition
// decision (lvs-ha: the time= of its transition log line, as precise as the log's
// time format; keepalived: arrival of its "Entering MASTER STATE" line on our pipe,
// approximate, as keepalived logs whole seconds) to that GARP. The kill follows an
// advert by a few milliseconds (the run first waits for adverts), so kill->GARP is
// close to the whole master down interval, the same for both implementations. It prints the medians and the ratio
// lvs-ha/keepalived. LVSHA_BENCH_RUNS sets the repetitions (default 5).
func TestBenchFailover(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("run by `make bench-failover` (%s=1)", benchEnv)
	}
	runs := 5
	if s := os.Getenv("LVSHA_BENCH_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("LVSHA_BENCH_RUNS=%q: want a positive integer", s)
		}
		runs = n
	}
	type setting struct {
		name    string
		version int
		adv     time.Duration
	}
	settings := []setting{{"v2 advert_int 1", 2, time.Second}, {"v3 advert_int 0.1", 3, 100 * time.Millisecond}}
	impls := []impl{implLVSHA, implKeepalived}
	results := map[string]map[impl][]failoverRun{}
	for _, s := range settings {
		results[s.name] = map[impl][]failoverRun{}
		for _, im := range impls {
			t.Run(strings.ReplaceAll(s.name, " ", "_")+"/"+string(im), func(t *testing.T) {
				requireImpls(t, im)
				ia, ib := fastInst(150), fastInst(100)
				ia.Version, ib.Version = s.version, s.version
				ia.AdvertInt, ib.AdvertInt = s.adv, s.adv
				for i := range runs {
					r := benchFailover(t, im, ia, ib)
					fmt.Printf("bench-failover: %-18s %-10s run %d: kill->GARP %8.1f ms  decision->GARP %7.2f ms\n",
						s.name, im, i+1, ms(r.killToGARP), ms(r.decisionToGARP))
					results[s.name][im] = append(results[s.name][im], r)
				}
			})
		}
	}

	fmt.Printf("\nbench-failover: SIGKILL of the master, %d runs each, medians\n", runs)
	fmt.Printf("bench-failover: %-18s %-10s %14s %16s\n", "setting", "impl", "kill->GARP", "decision->GARP")
	for _, s := range settings {
		med := map[impl]time.Duration{}
		for _, im := range impls {
			rs := results[s.name][im]
			if len(rs) == 0 {
				fmt.Printf("bench-failover: %-18s %-10s %14s\n", s.name, im, "skipped")
				continue
			}
			var k, d []time.Duration
			for _, r := range rs {
				k, d = append(k, r.killToGARP), append(d, r.decisionToGARP)
			}
			med[im] = median(k)
			note := ""
			if im == implKeepalived {
				note = " (log arrival, approximate)"
			}
			fmt.Printf("bench-failover: %-18s %-10s %11.1f ms %13.2f ms%s\n", s.name, im, ms(med[im]), ms(median(d)), note)
		}
		if l, k := med[implLVSHA], med[implKeepalived]; l > 0 && k > 0 {
			fmt.Printf("bench-failover: %-18s ratio lvs-ha/keepalived (kill->GARP): %.3f\n", s.name, float64(l)/float64(k))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// benchFailover runs one SIGKILL failover in a fresh lab: lvs1 (ia) master, lvs2
// (ib) backup, the client holding a neighbour entry for the VIP.
func benchFailover(t *testing.T, im impl, ia, ib vrrpInst) failoverRun {
	t.Helper()
	v := newVRRPLab(t, 2)
	defer v.lab.Close()
	defer v.cap.close()
	a := v.director(0, im, ia)
	b := v.director(1, im, ib)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", 0)
	assertStable(t, v.cap, v.cap.mark(), 2, a, b)
	touchVIP(t, v.client, vip4.Addr(), a.node.MAC())

	mark, mb := v.cap.mark(), b.mark()
	killed := a.crash()
	garp, err := v.cap.wait(mark, eventTimeout, "gratuitous ARP from lvs2", isAnnounceFrom(b.node, vip4.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	line := b.mustState("MASTER", mb)
	waitNeigh(t, v.client, vip4.Addr(), b.node.MAC())
	b.stop()
	return failoverRun{killToGARP: garp.At.Sub(killed), decisionToGARP: garp.At.Sub(lineTime(im, line))}
}
