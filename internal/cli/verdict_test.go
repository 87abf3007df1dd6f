package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/daemon"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

// verdictCorpus is every configuration the test suites hold (Debian's
// samples, examples/, conf/testdata with its broken corpus) plus generated
// ones: each valid one with every line removed in turn, and with the values
// found to disagree between layers before (VIP scopes, AH, ranges, regexes
// RE2 cannot compile, duplicate VIPs, empty sync groups).
func verdictCorpus(t *testing.T) map[string]string {
	t.Helper()
	var files []string
	for _, g := range []string{
		"/usr/share/doc/keepalived/samples/keepalived.conf.*",
		"../../examples/*.conf",
		"../../conf/testdata/*.conf",
		"../../conf/testdata/broken/*.conf",
	} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	dir := t.TempDir()
	out := map[string]string{}
	add := func(name, src string) {
		p := filepath.Join(dir, fmt.Sprintf("%03d-%s", len(out), name))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out[p] = name
	}
	vrrp := func(extra, vip string) string {
		return "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n" + extra + "  virtual_ipaddress {\n    " + vip + "\n  }\n}\n"
	}
	vs := func(check string) string {
		return "virtual_server 192.0.2.10 80 {\n  lvs_sched rr\n  protocol TCP\n  real_server 192.0.2.21 80 {\n" + check + "  }\n}\n"
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		src := string(b)
		if strings.Contains(src, "include") || strings.HasSuffix(base, "conditional_conf") {
			out[f] = base // relative includes and @ID lines: as is, from where it is
			continue
		}
		add(base, src)
		if strings.Contains(f, "broken") {
			continue
		}
		lines := strings.Split(src, "\n")
		for i := range lines {
			if strings.TrimSpace(lines[i]) == "" {
				continue
			}
			mut := append(append([]string(nil), lines[:i]...), lines[i+1:]...)
			add(fmt.Sprintf("%s-without-line-%d", base, i+1), strings.Join(mut, "\n"))
			// Each number on the line at keepalived's usual limits.
			for j, loc := range number.FindAllStringSubmatchIndex(lines[i], -1) {
				for _, v := range []string{"0", "256", "4294967295"} {
					l := lines[i][:loc[2]] + v + lines[i][loc[3]:]
					mut := append(append(append([]string(nil), lines[:i]...), l), lines[i+1:]...)
					add(fmt.Sprintf("%s-line-%d-number-%d-%s", base, i+1, j, v), strings.Join(mut, "\n"))
				}
			}
		}
	}
	for _, s := range []string{"global", "link", "host", "site", "nowhere", "universe", "0", "253", "0xfe", "010", "256", "-1", "bogus"} {
		add("scope-"+s, vrrp("", "192.0.2.1/24 scope "+s))
	}
	add("dup-vip", vrrp("", "192.0.2.1/24\n    192.0.2.1/24"))
	add("ah", vrrp("  authentication {\n    auth_type AH\n    auth_pass x\n  }\n", "192.0.2.1/24"))
	add("ah-v3", vrrp("  version 3\n  authentication {\n    auth_type AH\n    auth_pass x\n  }\n", "192.0.2.1/24"))
	add("pass", vrrp("  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n", "192.0.2.1/24"))
	add("garp-refresh-4h", vrrp("  garp_master_refresh 14400\n", "192.0.2.1/24"))
	add("garp-refresh-uint-max", vrrp("  garp_master_refresh 4294967295\n  garp_master_refresh_repeat 4294967295\n", "192.0.2.1/24"))
	add("empty-sync-group", vrrp("", "192.0.2.1/24")+"vrrp_sync_group G {\n  group {\n  }\n}\n")
	add("v6-vip-in-v4", vrrp("", "2001:db8::1"))
	add("many-vips", vrrp("", strings.Repeat("192.0.2.1\n    ", 1)+genVIPs(300)))
	for _, re := range []string{"ok", "(?<=a)b", "a{2,1}", "(a", `\d+`} {
		add("regex-"+re, vs("    HTTP_GET {\n      url {\n        path /\n        regex \""+re+"\"\n      }\n    }\n"))
	}
	add("udp-payload", vs("    UDP_CHECK {\n      payload zz\n    }\n"))
	add("tun-type", strings.Replace(vs(""), "lvs_sched rr", "lvs_sched rr\n  lvs_method TUN", 1))
	return out
}

func genVIPs(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "10.%d.%d.1\n    ", i/250, i%250)
	}
	return b.String()
}

// runVerdict is what `lvs-ha run` decides before it touches the system:
// conf's validation, then the daemon's construction (the plan and every
// component, the VRRP runner's New included), without daemon.Check.
func runVerdict(path string) (bool, string) {
	cfg, ds := conf.Load(path, conf.Options{ConfigID: "lvs-ha-test"})
	if ds.HasErrors() {
		return false, "conf"
	}
	if _, err := daemon.NewWithOptions(cfg, daemon.Options{Registry: metrics.NewRegistry()}); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// number is a whole word of digits (not part of an address).
var number = regexp.MustCompile(`(?:^|\s)(\d+)(?:\s|$)`)

var locatedLine = regexp.MustCompile(`^[^:]+:\d+:\d+: `)

// TestSameVerdictCheckConfigAndRun: every configuration the test suites
// hold, and generated ones, gets the same verdict from check-config as from
// run's build step; check-config's errors are located (FILE:LINE:COL).
func TestSameVerdictCheckConfigAndRun(t *testing.T) {
	corpus := verdictCorpus(t)
	if len(corpus) < 100 {
		t.Fatalf("only %d configurations; want at least 100", len(corpus))
	}
	valid, invalid := 0, 0
	for path, name := range corpus {
		code, _, errOut := run(t, "check-config", "-i", "lvs-ha-test", "-f", path)
		ok, why := runVerdict(path)
		if (code == ExitOK) != ok {
			t.Errorf("%s: check-config exit %d, run's build ok=%v (%s); check-config said:\n%s", name, code, ok, why, errOut)
			continue
		}
		if ok {
			valid++
			continue
		}
		invalid++
		for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
			if !locatedLine.MatchString(l) && !strings.HasSuffix(l, "configuration is not valid") {
				t.Errorf("%s: unlocated line %q", name, l)
			}
		}
	}
	t.Logf("%d configurations: %d valid, %d refused", len(corpus), valid, invalid)
}

// TestCheckConfigFoundDisagreements: the configurations issue #11 found
// check-config passing and run refusing get one verdict, located.
func TestCheckConfigFoundDisagreements(t *testing.T) {
	inst := func(extra, vip string) string {
		return "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n" + extra + "  virtual_ipaddress {\n    " + vip + "\n  }\n}\n"
	}
	for _, tc := range []struct {
		name, src string
		code      int
		want      string // a line of stderr (after the file name)
	}{
		{"scope universe is warned and ignored", inst("", "192.0.2.1/24 scope universe"), ExitOK,
			`:5:24: warning: invalid scope "universe" specified for 192.0.2.1/24 - ignoring`},
		{"AH is refused", inst("  authentication {\n    auth_type AH\n    auth_pass x\n  }\n", "192.0.2.1/24"), ExitFailure,
			":5:15: AH authentication is not supported by lvs-ha"},
		{"a regex RE2 cannot compile is refused at its checker",
			"virtual_server 192.0.2.10 80 {\n  protocol TCP\n  real_server 192.0.2.21 80 {\n    HTTP_GET {\n      url {\n        path /\n        regex \"(?<=a)b\"\n      }\n    }\n  }\n}\n",
			ExitFailure, ":4:5: virtual_server"},
		{"garp_master_refresh 14400 is accepted", inst("  garp_master_refresh 14400\n", "192.0.2.1/24"), ExitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConf(t, tc.src)
			code, _, errOut := run(t, "check-config", "-f", p)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, errOut)
			}
			if tc.want != "" && !strings.Contains(errOut, p+tc.want) {
				t.Errorf("stderr lacks %q:\n%s", p+tc.want, errOut)
			}
			if ok, why := runVerdict(p); ok != (tc.code == ExitOK) {
				t.Errorf("run's build ok=%v (%s)", ok, why)
			}
		})
	}
}
