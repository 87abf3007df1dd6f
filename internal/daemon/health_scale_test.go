package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
)

// checkScaleConf is n virtual servers of 10 real servers, each with a
// TCP_CHECK.
func checkScaleConf(n int) string {
	return scaleConfWith(n, "        TCP_CHECK {\n            connect_timeout 3\n        }\n")
}

// BenchmarkPlanChecks is newPlan at 1,000 virtual servers x 10 real servers
// with a TCP_CHECK each: B/op is what translating and validating 10,000
// checks allocates at config load (the parse is not counted).
func BenchmarkPlanChecks(b *testing.B) {
	cfg, ds := conf.LoadBytes("test.conf", []byte(checkScaleConf(1000)), conf.Options{ConfigID: "lvs1"})
	if ds.HasErrors() {
		b.Fatal(ds)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newPlan(cfg, &Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPlanRefusesBadCheck: a check the health runner would refuse (here a
// nil checker) is refused at plan time with the scheduler's error text,
// though the plan validates without building a scheduler.
func TestPlanRefusesBadCheck(t *testing.T) {
	cfg := loadConf(t, checkScaleConf(2))
	good, err := newPlan(cfg, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := good.checks[len(good.checks)/2].ID
	checks := slices.Clone(good.checks)
	checks[len(checks)/2].Checker = nil
	_, serr := healthcheck.NewScheduler(time.Time{}, checks, healthcheck.SchedulerOptions{})
	if serr == nil {
		t.Fatal("NewScheduler accepted a nil checker")
	}
	_, err = newPlan(cfg, &Options{wrapChecker: func(id string, c healthcheck.Checker) healthcheck.Checker {
		if id == bad {
			return nil
		}
		return c
	}})
	if want := "health checks: " + serr.Error(); err == nil || err.Error() != want {
		t.Fatalf("newPlan: %v, want %q", err, want)
	}
}
