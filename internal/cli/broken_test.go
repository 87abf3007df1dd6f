package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigBrokenCorpus runs `lvs-ha check-config` on every broken config
// kept by conf's tests (conf/testdata/broken): each must exit 1 and name the
// file and the line marked `# <--`.
func TestCheckConfigBrokenCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "conf", "testdata", "broken", "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d broken configs in conf/testdata/broken; want at least 20", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			line := 0
			for i, l := range strings.Split(string(src), "\n") {
				if strings.Contains(l, "# <--") {
					line = i + 1
					break
				}
			}
			if line == 0 {
				t.Fatalf("no # <-- marker in %s", f)
			}
			code, out, errOut := run(t, "check-config", "-f", f)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitFailure, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			want := fmt.Sprintf("%s:%d:", f, line)
			for _, l := range strings.Split(errOut, "\n") {
				if strings.HasPrefix(l, want) && !strings.Contains(l, "warning:") {
					return
				}
			}
			t.Errorf("no error at %s in:\n%s", want, errOut)
		})
	}
}

// TestSamplesCheckAndDump runs check-config and dump-config on every sample that
// Debian's keepalived package installs: no error, and the dump's counts equal the
// blocks the file declares (counted textually here, independently of conf).
func TestSamplesCheckAndDump(t *testing.T) {
	samples, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	if _, err := os.Stat("/etc/keepalived/keepalived.conf.sample"); err == nil {
		samples = append(samples, "/etc/keepalived/keepalived.conf.sample")
	}
	if len(samples) == 0 {
		if os.Getenv("LVSHA_REQUIRE_SAMPLES") == "1" {
			t.Fatal("keepalived samples not installed (apt-get install keepalived)")
		}
		t.Skip("keepalived samples not installed")
	}
	for _, f := range samples {
		t.Run(filepath.Base(f), func(t *testing.T) {
			args := []string{"-f", f}
			if strings.HasSuffix(f, "conditional_conf") {
				args = append(args, "-i", "high")
			}
			if filepath.Base(f) == "keepalived.conf.SSL_GET" {
				// keepalived implements IPsec AH; lvs-ha refuses it, at its place.
				code, _, errOut := run(t, append([]string{"check-config"}, args...)...)
				if code != ExitFailure || !strings.Contains(errOut, f+":20:19: AH authentication is not supported by lvs-ha") {
					t.Fatalf("check-config exit %d, want 1 and the AH refusal:\n%s", code, errOut)
				}
				return
			}
			if code, _, errOut := run(t, append([]string{"check-config"}, args...)...); code != ExitOK {
				t.Fatalf("check-config exit %d:\n%s", code, errOut)
			}
			code, out, errOut := run(t, append([]string{"dump-config"}, args...)...)
			if code != ExitOK {
				t.Fatalf("dump-config exit %d:\n%s", code, errOut)
			}
			var dump struct {
				Counts map[string]int `json:"counts"`
			}
			if err := json.Unmarshal([]byte(out), &dump); err != nil {
				t.Fatal(err)
			}
			src, _ := os.ReadFile(f)
			want := textualCounts(string(src))
			for k, n := range want {
				if dump.Counts[k] != n {
					t.Errorf("%s: dump says %d, the file declares %d", k, dump.Counts[k], n)
				}
			}
		})
	}
}

// textualCounts counts block openings by their keyword at the start of a
// non-comment line.
func textualCounts(src string) map[string]int {
	c := map[string]int{"vrrp_instances": 0, "virtual_servers": 0, "real_servers": 0, "checkers": 0}
	checkers := map[string]bool{"TCP_CHECK": true, "HTTP_GET": true, "SSL_GET": true, "MISC_CHECK": true,
		"DNS_CHECK": true, "UDP_CHECK": true, "PING_CHECK": true, "SMTP_CHECK": true, "BFD_CHECK": true, "FILE_CHECK": true}
	for _, l := range strings.Split(src, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "!") {
			continue
		}
		if strings.HasPrefix(f[0], "@") && len(f) > 1 { // conditional line
			f = f[1:]
		}
		switch {
		case f[0] == "vrrp_instance":
			c["vrrp_instances"]++
		case f[0] == "virtual_server":
			c["virtual_servers"]++
		case f[0] == "real_server":
			c["real_servers"]++
		case checkers[f[0]]:
			c["checkers"]++
		}
	}
	return c
}
