package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(append([]string{"lvs-ha"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validConf = `global_defs {
    router_id lvs1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
`

func TestUsageAndExitCodes(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, ExitUsage, "", "Usage: lvs-ha COMMAND"},
		{[]string{"help"}, ExitOK, "Commands:", ""},
		{[]string{"--help"}, ExitOK, "check-config", ""},
		{[]string{"help", "run"}, ExitOK, "Usage: lvs-ha run [flags]", ""},
		{[]string{"run", "-h"}, ExitOK, "-log-format", ""},
		{[]string{"check-config", "--help"}, ExitOK, "-config-id", ""},
		{[]string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{[]string{"check-config", "-nope"}, ExitUsage, "", "flag provided but not defined: -nope"},
		{[]string{"check-config", "-f"}, ExitUsage, "", "flag needs an argument"},
		{[]string{"version", "extra"}, ExitUsage, "", `unexpected argument "extra"`},
		{[]string{"version"}, ExitOK, "lvs-ha ", ""},
		{[]string{"--version"}, ExitOK, "lvs-ha ", ""},
		{[]string{"run", "-log-format", "xml", "-f", "/nonexistent"}, ExitUsage, "", "want text or json"},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut)
		}
		if !strings.Contains(out, tc.out) {
			t.Errorf("%v: stdout %q lacks %q", tc.args, out, tc.out)
		}
		if !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.err)
		}
		// Help goes to stdout alone, a usage error to stderr alone (-h once
		// printed the usage on both).
		if tc.out == "" && out != "" {
			t.Errorf("%v: stdout %q, want none", tc.args, out)
		}
		if tc.err == "" && errOut != "" {
			t.Errorf("%v: stderr %q, want none", tc.args, errOut)
		}
	}
}

func TestCheckConfigValid(t *testing.T) {
	p := writeConf(t, validConf)
	code, out, errOut := run(t, "check-config", "-f", p)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "configuration is valid") {
		t.Errorf("stdout %q", out)
	}
	if code, out, _ := run(t, "check-config", "-q", "-f", p); code != ExitOK || out != "" {
		t.Errorf("-q: exit %d, stdout %q", code, out)
	}
}

func TestCheckConfigReportsEveryError(t *testing.T) {
	p := writeConf(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 300
    priority 0
    bogus_keyword 1
}
`)
	code, _, errOut := run(t, "check-config", "-f", p)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitFailure, errOut)
	}
	for _, want := range []string{p + ":3:", p + ":4:", p + ":5:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(errOut, "warning") {
		t.Errorf("unknown keyword should be a warning:\n%s", errOut)
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	code, _, errOut := run(t, "check-config", "-f", filepath.Join(t.TempDir(), "nope.conf"))
	if code != ExitFailure || !strings.Contains(errOut, "nope.conf") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestDumpConfigJSON(t *testing.T) {
	p := writeConf(t, validConf)
	code, out, errOut := run(t, "dump-config", "-f", p)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"wrr"`) && !strings.Contains(out, `"rr"`) {
		t.Errorf("scheduler missing from dump:\n%s", out)
	}
}
