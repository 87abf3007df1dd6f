package cli

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

func TestGenhash(t *testing.T) {
	body := "hello from lvs-ha genhash\n"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.html":
			_, _ = w.Write([]byte(body + r.Host))
		default:
			http.NotFound(w, r)
		}
	})
	sum := func(s string) string { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }
	for _, tls := range []bool{false, true} {
		var srv *httptest.Server
		if tls {
			srv = httptest.NewTLSServer(h)
		} else {
			srv = httptest.NewServer(h)
		}
		defer srv.Close()
		u, _ := url.Parse(srv.URL)
		host, port := u.Hostname(), u.Port()
		args := []string{"-s", host, "-p", port, "-u", "/index.html", "-V", "www.example"}
		if tls {
			args = append([]string{"-S"}, args...)
		}
		code, out, errOut := run(t, append([]string{"genhash"}, args...)...)
		if code != 0 {
			t.Fatalf("tls=%v: exit %d: %s", tls, code, errOut)
		}
		want := sum(body+"www.example") + "\n"
		if out != want {
			t.Errorf("tls=%v: output %q, want %q", tls, out, want)
		}
		// Same output as keepalived's genhash, when installed.
		if p, err := exec.LookPath("genhash"); err == nil {
			ref, err := exec.Command(p, args...).Output()
			if err != nil {
				t.Fatalf("%s %v: %v", p, args, err)
			}
			if string(ref) != out {
				t.Errorf("tls=%v: lvs-ha genhash %q, %s %q", tls, out, p, ref)
			}
		} else {
			t.Log("genhash not installed: not compared")
		}
		// Long options and -v.
		code, out, _ = run(t, "genhash", "--server", host, "--port", port, "--url", "/index.html",
			"--use-virtualhost", "www.example", "-v", "--use-ssl="+map[bool]string{false: "false", true: "true"}[tls])
		if code != 0 || !strings.Contains(out, "HTTP status: 200\n") || !strings.Contains(out, "\n"+strings.TrimSpace(want)+"\n") {
			t.Errorf("tls=%v: -v: exit %d, output %q", tls, code, out)
		}
	}
}

func TestGenhashErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-p", "80", "-u", "/"}, ExitUsage, "no server"},
		{[]string{"-s", "127.0.0.1", "-p", "80"}, ExitUsage, "no url"},
		{[]string{"-s", "127.0.0.1", "-p", "70000", "-u", "/"}, ExitUsage, "out of range"},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "-P", "2"}, ExitFailure, "protocol"},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "extra"}, ExitUsage, "unexpected argument"},
		{[]string{"-s", "127.0.0.1", "-p", "1", "-u", "/", "-t", "1"}, ExitFailure, "genhash"},
	} {
		code, _, errOut := run(t, append([]string{"genhash"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}
