package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	unitFile = "lvs-ha.service"
	// ipvsadmUnitFile restores a saved IPVS table at boot.
	ipvsadmUnitFile = "lvs-ha-ipvsadm.service"
	rulesFile       = "prometheus-rules.yml"
	rulesTestFile   = "prometheus-rules_test.yml"
	dashboardFile   = "grafana-dashboard.json"
	metricsDoc      = "../docs/metrics.md"
)

// ---- systemd unit ----

// unitSettings parses a unit file into "Section.Key" -> values (in order).
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not KEY=VALUE in a section: %q", path, n+1, line)
			}
			out[section+"."+strings.TrimSpace(k)] = append(out[section+"."+strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return out
}

func TestUnitSettings(t *testing.T) {
	got := unitSettings(t, unitFile)
	want := map[string]string{
		"Service.Type":                    "notify",
		"Service.ExecStart":               "/usr/local/sbin/lvs-ha run -f /etc/lvs-ha/keepalived.conf",
		"Service.ExecReload":              "/bin/kill -HUP $MAINPID",
		"Service.KillSignal":              "SIGTERM",
		"Service.Restart":                 "on-failure",
		"Service.CapabilityBoundingSet":   "CAP_NET_ADMIN CAP_NET_RAW",
		"Service.AmbientCapabilities":     "CAP_NET_ADMIN CAP_NET_RAW",
		"Service.NoNewPrivileges":         "yes",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.PrivateTmp":              "yes",
		"Service.ProtectKernelTunables":   "yes",
		"Service.ProtectControlGroups":    "yes",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX",
		"Service.LockPersonality":         "yes",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Service.RestrictRealtime":        "yes",
		"Service.SystemCallArchitectures": "native",
		"Install.WantedBy":                "multi-user.target",
	}
	for k, v := range want {
		if vs := got[k]; len(vs) != 1 || vs[0] != v {
			t.Errorf("%s: %s = %q, want exactly %q", unitFile, k, vs, v)
		}
	}
	// No User=: the daemon runs as root with the bounding set above (see the
	// unit's header for running scripts under another user).
	if u := got["Service.User"]; u != nil {
		t.Errorf("%s: User=%q; the header documents User= as a drop-in choice", unitFile, u)
	}
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("LVSHA_REQUIRE_SYSTEMD_ANALYZE") == "1" {
			t.Fatal("systemd-analyze not found and LVSHA_REQUIRE_SYSTEMD_ANALYZE=1 (apt-get install systemd)")
		}
		t.Skip("systemd-analyze not installed (set LVSHA_REQUIRE_SYSTEMD_ANALYZE=1 to fail instead)")
	}
	for _, name := range []string{unitFile, ipvsadmUnitFile} {
		t.Run(name, func(t *testing.T) { systemdVerify(t, sa, name) })
	}
}

func systemdVerify(t *testing.T, sa, name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// verify wants ExecStart's binary to exist: point it at one that does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(data), "/usr/local/sbin/lvs-ha", self)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "verify", "--man=no", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	// verify exits 0 on unknown keys and bad values but reports them: any
	// output is a failure.
	if err != nil || strings.TrimSpace(out.String()) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out.String())
	}
}

// TestIpvsadmUnitSettings: the restore unit runs the binary as
// ipvsadm-restore (argv[0] through systemd's "@"), reads the rules file on
// stdin, runs before lvs-ha and keepalived, and does nothing on stop.
func TestIpvsadmUnitSettings(t *testing.T) {
	got := unitSettings(t, ipvsadmUnitFile)
	want := map[string]string{
		"Unit.Before":                   "lvs-ha.service keepalived.service",
		"Unit.Conflicts":                "ipvsadm.service",
		"Unit.ConditionFileNotEmpty":    "/etc/lvs-ha/ipvsadm.rules",
		"Service.Type":                  "oneshot",
		"Service.RemainAfterExit":       "yes",
		"Service.StandardInput":         "file:/etc/lvs-ha/ipvsadm.rules",
		"Service.ExecStart":             "@/usr/local/sbin/lvs-ha ipvsadm-restore",
		"Service.CapabilityBoundingSet": "CAP_NET_ADMIN",
		"Service.ProtectSystem":         "strict",
		"Install.WantedBy":              "multi-user.target",
	}
	for k, v := range want {
		if vs := got[k]; len(vs) != 1 || vs[0] != v {
			t.Errorf("%s: %s = %q, want exactly %q", ipvsadmUnitFile, k, vs, v)
		}
	}
	if vs := got["Service.ExecStop"]; vs != nil {
		t.Errorf("%s: ExecStop=%q: stopping the unit must not touch the table lvs-ha uses", ipvsadmUnitFile, vs)
	}
}

// ---- Prometheus rules ----

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if _, serr := os.Stat("/usr/local/bin/promtool"); serr == nil {
			return "/usr/local/bin/promtool"
		}
		if os.Getenv("LVSHA_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool not found and LVSHA_REQUIRE_PROMTOOL=1")
		}
		t.Skip("promtool not installed (set LVSHA_REQUIRE_PROMTOOL=1 to fail instead)")
	}
	return p
}

func TestPromtool(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", rulesFile},
		{"test", "rules", rulesTestFile},
	} {
		out, err := exec.Command(pt, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// ---- series and labels against docs/metrics.md ----

type docs struct {
	types  map[string]string // series name -> type
	labels map[string]bool   // every documented label, plus Prometheus's own
}

func readDocs(t *testing.T) docs {
	t.Helper()
	f, err := os.Open(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := docs{types: map[string]string{}, labels: map[string]bool{"instance": true, "job": true, "le": true, "__name__": true}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 4 {
			t.Fatalf("%s: bad row %q", metricsDoc, line)
		}
		clean := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		d.types[clean(cells[0])] = strings.TrimSpace(cells[1])
		for l := range strings.SplitSeq(cells[2], ",") {
			if l = clean(l); l != "" && l != "—" {
				d.labels[l] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(d.types) < 20 {
		t.Fatalf("%s: only %d series found; has the table format changed?", metricsDoc, len(d.types))
	}
	return d
}

// hasSeries reports whether name is documented, directly or as a
// histogram's _bucket/_sum/_count series.
func (d docs) hasSeries(name string) bool {
	if _, ok := d.types[name]; ok {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && d.types[base] == "histogram" {
			return true
		}
	}
	return false
}

// expr is a PromQL expression, or a template, and where it was found.
type expr struct {
	where, text string
	template    bool // text is a legend or annotation template, not PromQL
}

func (d docs) check(t *testing.T, file string, exprs []expr) {
	t.Helper()
	for _, e := range exprs {
		if e.template {
			for _, l := range templateLabels(e.text) {
				if !d.labels[l] {
					t.Errorf("%s: %s: label %q is not in %s", file, e.where, l, metricsDoc)
				}
			}
			continue
		}
		metrics, labels, err := scanPromQL(e.text)
		if err != nil {
			t.Errorf("%s: %s: %v in %q", file, e.where, err, e.text)
			continue
		}
		for _, m := range metrics {
			if !d.hasSeries(m) {
				t.Errorf("%s: %s: series %s is not in %s (expression %q)", file, e.where, m, metricsDoc, e.text)
			}
		}
		for _, l := range labels {
			if !d.labels[l] {
				t.Errorf("%s: %s: label %q is not in %s (expression %q)", file, e.where, l, metricsDoc, e.text)
			}
		}
	}
}

func TestDashboardSeriesDocumented(t *testing.T) {
	d := readDocs(t)
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	exprs := dashboardExprs(v, "", "")
	n := 0
	for _, e := range exprs {
		if !e.template {
			n++
		}
	}
	if n < 10 {
		t.Fatalf("%s: only %d PromQL expressions found", dashboardFile, n)
	}
	d.check(t, dashboardFile, exprs)
}

// dashboardExprs walks the dashboard: "expr" values (panel targets,
// annotations) and variable queries are PromQL, legendFormat a template.
func dashboardExprs(v any, path, title string) []expr {
	var out []expr
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["title"].(string); ok {
			title = s
		}
		where := func(k string) string { return fmt.Sprintf("%q %s.%s", title, path, k) }
		for k, c := range v {
			switch s, isStr := c.(string); {
			case isStr && k == "expr":
				out = append(out, expr{where: where(k), text: s})
			case isStr && k == "legendFormat":
				out = append(out, expr{where: where(k), text: s, template: true})
			case isStr && (k == "query" || k == "definition") && strings.HasPrefix(strings.TrimSpace(s), "label_values("):
				out = append(out, expr{where: where(k), text: labelValuesExpr(s)})
			default:
				out = append(out, dashboardExprs(c, path+"."+k, title)...)
			}
		}
	case []any:
		for i, c := range v {
			out = append(out, dashboardExprs(c, fmt.Sprintf("%s[%d]", path, i), title)...)
		}
	}
	return out
}

// labelValuesExpr turns Grafana's label_values(SELECTOR, LABEL) into PromQL
// that mentions the same series and label.
func labelValuesExpr(s string) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "label_values("), ")")
	i := strings.LastIndex(inner, ",")
	if i < 0 {
		return "group by (" + inner + ") ({__name__!=\"\"})"
	}
	return "group by (" + strings.TrimSpace(inner[i+1:]) + ") (" + inner[:i] + ")"
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// templateLabels returns the labels of a Grafana legend ("{{label}}") or a
// Prometheus annotation ("{{ $labels.label }}").
func templateLabels(s string) []string {
	var out []string
	for _, m := range legendLabel.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	for _, m := range annotationLabel.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

var annotationLabel = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)

func TestRulesSeriesDocumented(t *testing.T) {
	d := readDocs(t)
	exprs := rulesExprs(t, rulesFile)
	n := 0
	for _, e := range exprs {
		if !e.template {
			n++
		}
	}
	if n < 4 {
		t.Fatalf("%s: only %d expressions found", rulesFile, n)
	}
	d.check(t, rulesFile, exprs)
	d.check(t, rulesTestFile, rulesExprs(t, rulesTestFile))
}

var (
	yamlKey    = regexp.MustCompile(`^(\s*)(?:- )?(expr|series|summary|description):\s*(.*)$`)
	yamlAlert  = regexp.MustCompile(`^\s*- alert:\s*(\S+)`)
	blockStart = regexp.MustCompile(`^[|>][-+]?$`)
)

// rulesExprs extracts the expr values (PromQL), input series (of promtool
// tests) and annotation templates from a rules file written in the plain
// YAML subset these files use: a single-line value, quoted or not, or a
// block scalar (| or >) on the following, more indented lines.
func rulesExprs(t *testing.T, path string) []expr {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []expr
	alert := ""
	for i := 0; i < len(lines); i++ {
		if m := yamlAlert.FindStringSubmatch(lines[i]); m != nil {
			alert = m[1]
		}
		m := yamlKey.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, key, val := len(m[1]), m[2], strings.TrimSpace(m[3])
		where := fmt.Sprintf("line %d (%s %s)", i+1, alert, key)
		if blockStart.MatchString(val) {
			var b []string
			for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || leading(lines[i+1]) > indent) {
				i++
				b = append(b, strings.TrimSpace(lines[i]))
			}
			val = strings.Join(b, "\n")
		} else if v, err := unquoteYAML(val); err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		} else {
			val = v
		}
		switch key {
		case "expr":
			out = append(out, expr{where: where, text: val})
		case "series":
			// A series selector: name{labels}, valid PromQL.
			out = append(out, expr{where: where, text: val})
		default:
			out = append(out, expr{where: where, text: val, template: true})
		}
	}
	return out
}

func leading(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

func unquoteYAML(s string) (string, error) {
	switch {
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		var v string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return "", fmt.Errorf("double-quoted value %s: %w", s, err)
		}
		return v, nil
	case strings.HasPrefix(s, "'") || strings.HasPrefix(s, `"`):
		return "", fmt.Errorf("multi-line quoted value %s: use a block scalar (|)", s)
	}
	return s, nil
}

// ---- a PromQL scanner, enough to find series and label names ----

var (
	// Keywords followed by a parenthesized label list.
	labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	// Other keywords and aggregation operators (which may be followed by
	// "by"/"without" instead of a parenthesis).
	keywords = map[string]bool{
		"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
		"inf": true, "nan": true,
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
		"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true,
	}
)

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

// scanPromQL returns the series names (identifiers that are neither
// functions nor keywords) and the label names (in matchers and in
// by/without/on/ignoring/group_* lists) that expression s uses. Strings,
// range and subquery durations, numbers and Grafana variables ($x, ${x}) are
// skipped.
func scanPromQL(s string) (metrics, labels []string, err error) {
	skipSpace := func(i int) int {
		for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
			i++
		}
		return i
	}
	skipString := func(i int) (int, error) {
		q := s[i]
		for j := i + 1; j < len(s); j++ {
			if s[j] == '\\' && q != '`' {
				j++
				continue
			}
			if s[j] == q {
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string at offset %d", i)
	}
	ident := func(i int) int {
		for i < len(s) && isIdent(s[i]) {
			i++
		}
		return i
	}
	// names collects identifiers up to the closing delimiter, skipping strings.
	names := func(i int, close byte) ([]string, int, error) {
		var out []string
		for i < len(s) && s[i] != close {
			switch c := s[i]; {
			case c == '"' || c == '\'' || c == '`':
				j, err := skipString(i)
				if err != nil {
					return nil, 0, err
				}
				i = j
			case isIdentStart(c):
				j := ident(i)
				out = append(out, s[i:j])
				i = j
			default:
				i++
			}
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("missing %q", close)
		}
		return out, i + 1, nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(i)
			if err != nil {
				return nil, nil, err
			}
			i = j
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, nil, fmt.Errorf("missing ']' after offset %d", i)
			}
			i += j + 1
		case c == '{':
			ls, j, err := names(i+1, '}')
			if err != nil {
				return nil, nil, err
			}
			labels = append(labels, ls...)
			i = j
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				j := strings.IndexByte(s[i:], '}')
				if j < 0 {
					return nil, nil, fmt.Errorf("unterminated ${ at offset %d", i-1)
				}
				i += j + 1
			} else {
				i = ident(i)
			}
		case '0' <= c && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := ident(i)
			word := s[i:j]
			next := skipSpace(j)
			switch {
			case labelListKeywords[word]:
				if next < len(s) && s[next] == '(' {
					ls, k, err := names(next+1, ')')
					if err != nil {
						return nil, nil, err
					}
					labels = append(labels, ls...)
					j = k
				}
			case keywords[strings.ToLower(word)]:
			case next < len(s) && s[next] == '(':
				// A function call.
			default:
				metrics = append(metrics, word)
			}
			i = j
		default:
			i++
		}
	}
	slices.Sort(metrics)
	slices.Sort(labels)
	return slices.Compact(metrics), slices.Compact(labels), nil
}

func TestScanPromQL(t *testing.T) {
	tests := []struct {
		expr            string
		metrics, labels []string
	}{
		{`up`, []string{"up"}, nil},
		{`count by (vrid, intf) (max by (instance, vrid, intf) (keepalived_vrrp_state) == 2) > 1`,
			[]string{"keepalived_vrrp_state"}, []string{"instance", "intf", "vrid"}},
		{`sum without (reason) (rate(a_total{instance=~"$instance", x!="by (y)"}[$__rate_interval] offset 5m))`,
			[]string{"a_total"}, []string{"instance", "reason", "x"}},
		{`histogram_quantile(0.95, sum by (le) (rate(d_bucket[5m])))`, []string{"d_bucket"}, []string{"le"}},
		{`a / on (k) group_left (m) b * 1e3 + Inf`, []string{"a", "b"}, []string{"k", "m"}},
		{`changes(max by (i) (s{j="${v}"})[2m:15s]) > bool 0 and c unless d or e`,
			[]string{"c", "d", "e", "s"}, []string{"i", "j"}},
		{`sum(x) by (l)`, []string{"x"}, []string{"l"}},
		{`topk by (l) (3, x)`, []string{"x"}, []string{"l"}},
		{`ns:series:rate5m`, []string{"ns:series:rate5m"}, nil},
	}
	for _, tt := range tests {
		m, l, err := scanPromQL(tt.expr)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if !slices.Equal(m, tt.metrics) || !slices.Equal(l, tt.labels) {
			t.Errorf("%q: metrics %q labels %q, want %q %q", tt.expr, m, l, tt.metrics, tt.labels)
		}
	}
	for _, bad := range []string{`a{b="c}`, `rate(a[5m)`, `a{b="c"`, `sum by (a b`} {
		if _, _, err := scanPromQL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
