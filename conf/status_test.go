package conf

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// treeSources reads the module's Go files (from the repository root, ..):
// the names of every Test function, and the text of the non-test files
// outside conf/.
func treeSources(t *testing.T) (tests map[string]bool, prod string) {
	t.Helper()
	tests = map[string]bool{}
	var b strings.Builder
	testFunc := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "build" || n == "testdata" || (strings.HasPrefix(n, ".") && n != "..") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
				tests[m[1]] = true
			}
			return nil
		}
		if rel, _ := filepath.Rel("..", path); !strings.HasPrefix(rel, "conf"+string(filepath.Separator)) {
			b.Write(src)
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tests, b.String()
}

// TestWorksKeywordsHaveEvidence: a keyword marked works names its model
// field, which code outside conf reads (as a selector .Field), and tests
// that exist in the tree.
func TestWorksKeywordsHaveEvidence(t *testing.T) {
	tests, prod := treeSources(t)
	if len(tests) < 100 {
		t.Fatalf("found only %d Test functions: is the tree there?", len(tests))
	}
	counts := map[Status]int{}
	for _, k := range Keywords() {
		counts[k.Status]++
		if k.Status != Works {
			if k.Field != "" || len(k.Tests) > 0 {
				t.Errorf("%s %s: %s with evidence", k.Block, k.Keyword, k.Status)
			}
			continue
		}
		if k.Field == "" || len(k.Tests) == 0 {
			t.Errorf("%s %s: works without a model field and a test", k.Block, k.Keyword)
			continue
		}
		sel := k.Field[strings.LastIndexByte(k.Field, '.')+1:]
		if !regexp.MustCompile(`\.` + sel + `\b`).MatchString(prod) {
			t.Errorf("%s %s: works, but its field %s is read nowhere outside conf", k.Block, k.Keyword, k.Field)
		}
		for _, name := range k.Tests {
			if !tests[name] {
				t.Errorf("%s %s: works, but its test %s does not exist", k.Block, k.Keyword, name)
			}
		}
	}
	for key := range evidence {
		i := strings.LastIndexByte(key, ' ')
		block, name := key[:i], key[i+1:]
		found := false
		for _, k := range Keywords() {
			found = found || (k.Block == block && k.Keyword == name)
		}
		if !found {
			t.Errorf("evidence for %q: no such keyword", key)
		}
	}
	t.Logf("keywords by status: %v", counts)
}

// TestWarnedKeywordsAreLocated: every warned keyword draws "KEYWORD is not
// supported by lvs-ha (ignored)" at its position and is counted.
func TestWarnedKeywordsAreLocated(t *testing.T) {
	src := "global_defs {\n    bfd_priority 5\n    dbus_service_name x\n    enable_dbus\n}\n" +
		"vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    use_ipvlan\n    unicast_peer {\n        192.0.2.2 min_ttl 2\n    }\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n"
	cfg, ds := loadSrc(t, "k.conf", src)
	if ds.HasErrors() {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	for _, want := range []string{
		`k.conf:2:5: warning: "bfd_priority" in global_defs is not supported by lvs-ha (ignored)`,
		`k.conf:3:5: warning: "dbus_service_name" in global_defs is not supported by lvs-ha (ignored)`,
		`k.conf:4:5: warning: "enable_dbus" in global_defs is not supported by lvs-ha (ignored)`,
		`k.conf:9:5: warning: "use_ipvlan" in vrrp_instance is not supported by lvs-ha (ignored)`,
	} {
		if !strings.Contains(dump(ds), want+"\n") && !strings.Contains(dump(ds), want+":") {
			t.Errorf("missing %q in:\n%s", want, dump(ds))
		}
	}
	if len(cfg.Unsupported) != 4 {
		t.Errorf("Unsupported = %v, want 4 uses", cfg.Unsupported)
	}
}
