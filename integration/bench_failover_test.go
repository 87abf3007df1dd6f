package integration

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchEnv enables the benchmarks here (`make bench-failover`,
// integration/bench/takeover.sh, integration/bench/stability.sh,
// integration/bench/idle.sh).
const benchEnv = "LVSHA_BENCH"

// takeoverRun is one measured takeover, all wire times from the client's
// capture (kernel timestamps of one socket, so differences are exact up to
// the bridge's forwarding jitter).
type takeoverRun struct {
	takeover time.Duration // master's last advert -> backup's first advert
	bound    time.Duration // what takeover would be with no delay: Master_Down_Interval (kill) or skew time (SIGTERM)
	toGARP   time.Duration // backup's first advert -> its first GARP
	// lvs-ha only (advert_after / garp_after of its transition log line):
	// decision -> first advert and -> first GARP sent; -1 for keepalived.
	decAdvert, decGARP time.Duration
	timerLate          time.Duration // lvs-ha only: its timer's deadline -> decision (timer_late); -1 else
}

func (r takeoverRun) over() time.Duration { return r.takeover - r.bound }

// TestBenchFailover measures takeovers of an lvs-ha pair and of a keepalived
// pair on the same topology, interleaved run by run (the machine may be
// shared: the ratio of one run is what counts), at advert_int 1 (v2), 0.2
// and 0.05 (v3):
//   - kill: SIGKILL of the master; from its last advert to the backup's first
//     advert on the wire, against Master_Down_Interval (3 x advert + skew);
//   - planned: SIGTERM of the master (priority 0 advert); from that advert to
//     the backup's first advert, against the skew time.
//
// It prints one line per run, then p50 and max per figure, and one
// machine-readable line per figure:
//
//	BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
//
// LVSHA_BENCH_RUNS sets the runs per pair and setting (default 5);
// LVSHA_BENCH_SETTINGS a comma list of adv1, adv0.2, adv0.05 (default all).
func TestBenchFailover(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("run by `make bench-failover` (%s=1)", benchEnv)
	}
	runs := benchInt(t, "LVSHA_BENCH_RUNS", 5)
	type setting struct {
		name    string
		version int
		adv     time.Duration
	}
	all := []setting{{"adv1", 2, time.Second}, {"adv0.2", 3, 200 * time.Millisecond}, {"adv0.05", 3, 50 * time.Millisecond}}
	settings := all
	if s := os.Getenv("LVSHA_BENCH_SETTINGS"); s != "" {
		settings = nil
		for _, x := range all {
			if slices.Contains(strings.Split(s, ","), x.name) {
				settings = append(settings, x)
			}
		}
	}
	impls := []impl{implLVSHA, implKeepalived}
	requireImpls(t, impls...)
	modes := []string{"kill", "planned"}
	results := map[string]map[impl][]takeoverRun{}
	for _, s := range settings {
		for _, mode := range modes {
			key := mode + "_" + s.name
			results[key] = map[impl][]takeoverRun{}
			t.Run(key, func(t *testing.T) {
				ia, ib := fastInst(150), fastInst(100)
				ia.Version, ib.Version = s.version, s.version
				ia.AdvertInt, ib.AdvertInt = s.adv, s.adv
				for i := range runs {
					order := impls
					if i%2 == 1 {
						order = []impl{impls[1], impls[0]}
					}
					for _, im := range order {
						r := benchTakeover(t, im, ia, ib, mode == "planned")
						fmt.Printf("bench-takeover: %-16s %-10s run %d: takeover %9.3f ms  over bound %7.3f ms  advert->GARP %6.3f ms%s\n",
							key, im, i+1, ms(r.takeover), ms(r.over()), ms(r.toGARP), decisions(r))
						results[key][im] = append(results[key][im], r)
					}
				}
			})
		}
	}

	fmt.Printf("\nbench-takeover: %d runs per pair and setting, interleaved; p50 / max in ms\n", runs)
	for _, s := range settings {
		for _, mode := range modes {
			key := mode + "_" + s.name
			l, k := results[key][implLVSHA], results[key][implKeepalived]
			if len(l) == 0 || len(k) == 0 {
				continue
			}
			fig := func(f func(takeoverRun) time.Duration) (lp50, lmax, kp50, kmax float64) {
				lv, kv := collect(l, f), collect(k, f)
				return ms(pct(lv, 50)), ms(pct(lv, 100)), ms(pct(kv, 50)), ms(pct(kv, 100))
			}
			lp, lm, kp, km := fig(takeoverRun.over)
			fmt.Printf("bench-takeover: %-16s over bound: lvs-ha %.3f / %.3f  keepalived %.3f / %.3f\n", key, lp, lm, kp, km)
			benchLine("vrrp_takeover_"+key+"_over_bound_p50", lp, kp, "ms")
			benchLine("vrrp_takeover_"+key+"_over_bound_max", lm, km, "ms")
			lp, _, kp, _ = fig(func(r takeoverRun) time.Duration { return r.takeover })
			benchLine("vrrp_takeover_"+key+"_p50", lp, kp, "ms")
			lp, lm, kp, km = fig(func(r takeoverRun) time.Duration { return r.toGARP })
			benchLine("vrrp_takeover_"+key+"_advert_to_garp_p50", lp, kp, "ms")
			benchLine("vrrp_takeover_"+key+"_advert_to_garp_max", lm, km, "ms")
			// lvs-ha's own figures (from its log; keepalived logs none).
			for _, x := range []struct {
				name string
				f    func(takeoverRun) time.Duration
			}{
				{"timer_late", func(r takeoverRun) time.Duration { return r.timerLate }},
				{"decision_to_advert", func(r takeoverRun) time.Duration { return r.decAdvert }},
				{"decision_to_garp", func(r takeoverRun) time.Duration { return r.decGARP }},
			} {
				v := slices.DeleteFunc(collect(l, x.f), func(d time.Duration) bool { return d < 0 })
				p50, mx := math.NaN(), math.NaN()
				if len(v) > 0 {
					p50, mx = ms(pct(v, 50)), ms(pct(v, 100))
				}
				benchLine("vrrp_takeover_"+key+"_"+x.name+"_p50", p50, math.NaN(), "ms")
				benchLine("vrrp_takeover_"+key+"_"+x.name+"_max", mx, math.NaN(), "ms")
			}
		}
	}
}

func decisions(r takeoverRun) string {
	if r.decAdvert < 0 {
		return ""
	}
	return fmt.Sprintf("  timer late %.3f ms, decision->advert %.3f ms ->GARP %.3f ms", ms(r.timerLate), ms(r.decAdvert), ms(r.decGARP))
}

// benchLine prints one machine-readable figure (ref NaN: no reference
// figure; ratio NaN: none computable).
func benchLine(name string, lvsha, ref float64, unit string) {
	ratio := math.NaN()
	switch {
	case ref > 0:
		ratio = lvsha / ref
	case ref == 0 && lvsha == 0:
		ratio = 1
	case ref == 0:
		ratio = math.Inf(1)
	}
	fmt.Printf("BENCH name=%s lvsha=%.4g ref=%.4g unit=%s ratio=%.3f\n", name, lvsha, ref, unit, ratio)
}

func benchInt(t *testing.T, env string, def int) int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", env, s)
	}
	return n
}

// benchDuration is the duration env sets (def if unset).
func benchDuration(t *testing.T, env string, def time.Duration) time.Duration {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration (60s, 10m)", env, s)
	}
	return d
}

func collect(rs []takeoverRun, f func(takeoverRun) time.Duration) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, f(r))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct is the p-th percentile (nearest rank; 100: the maximum).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

var (
	advertAfterRE = regexp.MustCompile(`\badvert_after=(\S+)`)
	garpAfterRE   = regexp.MustCompile(`\bgarp_after=(\S+)`)
	timerLateRE   = regexp.MustCompile(`\btimer_late=(\S+)`)
)

func logDuration(re *regexp.Regexp, line string) time.Duration {
	if m := re.FindStringSubmatch(line); m != nil {
		if d, err := time.ParseDuration(m[1]); err == nil {
			return d
		}
	}
	return -1
}

// benchTakeover runs one takeover in a fresh lab: lvs1 (ia) master, lvs2 (ib)
// backup; the master is killed (SIGKILL) or stopped (SIGTERM: planned).
func benchTakeover(t *testing.T, im impl, ia, ib vrrpInst, planned bool) takeoverRun {
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

	mark, mb := v.cap.mark(), b.mark()
	if planned {
		a.stop()
	} else {
		a.crash()
	}
	vrid := b.inst().VRID
	first, err := v.cap.wait(mark, eventTimeout, "advert from lvs2", func(f *frame) bool {
		return isVRRPFrom(b.node, vrid)(f) && f.Priority > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	garp, err := v.cap.wait(mark, eventTimeout, "gratuitous ARP from lvs2", isAnnounceFrom(b.node, vip4.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	line := b.mustState("MASTER", mb)
	b.stop()
	var last *frame
	for _, f := range v.cap.since(0) {
		if isVRRPFrom(a.node, vrid)(f) && f.At.Before(first.At) {
			last = f
		}
	}
	if last == nil {
		t.Fatalf("no advert of lvs1 before lvs2's first at %v", first.At)
	}
	if planned && last.Priority != 0 {
		t.Fatalf("lvs1's last advert has priority %d, want 0 (SIGTERM)", last.Priority)
	}
	r := takeoverRun{takeover: first.At.Sub(last.At), toGARP: garp.At.Sub(first.At), decAdvert: -1, decGARP: -1, timerLate: -1}
	if planned {
		r.bound = ib.skew()
	} else {
		r.bound = 3*ib.withDefaults().AdvertInt + ib.skew()
	}
	if im == implLVSHA {
		r.decAdvert, r.decGARP = logDuration(advertAfterRE, line.Text), logDuration(garpAfterRE, line.Text)
		r.timerLate = logDuration(timerLateRE, line.Text)
	}
	return r
}
