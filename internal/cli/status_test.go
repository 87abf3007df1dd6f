package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// statusServer serves body on GET /status with code.
func statusServer(t *testing.T, code int, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestStatus(t *testing.T) {
	// The status package's golden pair: full.txt is RenderTable of full.json.
	golden := filepath.Join("..", "status", "testdata")
	doc, err := os.ReadFile(filepath.Join(golden, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join(golden, "full.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ok := statusServer(t, http.StatusOK, doc)
	down := closedAddr(t)
	broken := statusServer(t, http.StatusInternalServerError, []byte("boom\n"))
	garbage := statusServer(t, http.StatusOK, []byte("not json"))

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string   // exact, when set
		errHas []string // substrings of stderr
	}{
		{name: "table", args: []string{"-addr", ok}, code: ExitOK, stdout: string(table)},
		{name: "url addr", args: []string{"-addr", "http://" + ok + "/"}, code: ExitOK, stdout: string(table)},
		{name: "json", args: []string{"-addr", ok, "--json"}, code: ExitOK, stdout: string(doc)},
		{name: "json single dash", args: []string{"-json", "-addr", ok}, code: ExitOK, stdout: string(doc)},
		{name: "unreachable", args: []string{"-addr", down}, code: ExitFailure,
			errHas: []string{"cannot reach lvs-ha at " + down + ":", "connection refused", "is `lvs-ha run` running with its status listener?"}},
		{name: "unreachable json", args: []string{"--json", "-addr", down}, code: ExitFailure,
			errHas: []string{"cannot reach lvs-ha at " + down}},
		{name: "http error", args: []string{"-addr", broken}, code: ExitFailure, errHas: []string{"500 Internal Server Error"}},
		{name: "bad document", args: []string{"-addr", garbage}, code: ExitFailure, errHas: []string{"decode"}},
		{name: "bad addr", args: []string{"-addr", "http://[::1"}, code: ExitFailure, errHas: []string{"lvs-ha status: status:"}},
		{name: "extra arg", args: []string{"-addr", ok, "x"}, code: ExitUsage, errHas: []string{`unexpected argument "x"`}},
		{name: "bad timeout", args: []string{"-timeout", "0s"}, code: ExitUsage, errHas: []string{"-timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"status"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.stdout)
			}
			if tt.code != ExitOK && stdout != "" {
				t.Errorf("stdout on failure: %q", stdout)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not contain %q", stderr, s)
				}
			}
			if tt.code == ExitOK && stderr != "" {
				t.Errorf("stderr on success: %q", stderr)
			}
		})
	}
}

func TestStatusListedInHelp(t *testing.T) {
	code, stdout, _ := run(t, "help")
	if code != ExitOK || !strings.Contains(stdout, "  status ") {
		t.Errorf("help does not list status:\n%s", stdout)
	}
	code, stdout, _ = run(t, "status", "-h")
	if code != ExitOK || !strings.Contains(stdout, "-addr") || !strings.Contains(stdout, "-json") {
		t.Errorf("status -h:\n%s", stdout)
	}
}
