package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

func httpGetSrc(url string) string {
	return `
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
` + url + `
            }
        }
    }
}
`
}

// A regex or regex_options RE2 cannot express is refused by the plan build
// (check-config, run and reload) at the url's location; the options, offsets
// and pattern reach the checker.
func TestPlanHTTPRegexOptions(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{`path /
regex "(?<=a)b"`, `test.conf:6:13): regex "(?<=a)b": error parsing regexp`},
		{`path /
regex "a b"
regex_options caseless extended`, `test.conf:6:13): regex "a b": regex_options extended: not supported`},
	} {
		_, err := newPlan(loadConf(t, httpGetSrc(tc.url)), &Options{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("url {%s}: error %v, want %q", tc.url, err, tc.err)
		}
	}
	p := testPlan(t, httpGetSrc(`path /
regex "HELLO"
regex_options caseless
regex_min_offset 2
regex_max_offset 10`))
	u := p.checks[0].Checker.(healthcheck.Definer).Definition().(healthcheck.HTTPOptions).URLs[0]
	if u.Regex != "HELLO" || len(u.RegexOptions) != 1 || u.RegexOptions[0] != "caseless" || u.RegexMinOffset != 2 || u.RegexMaxOffset != 10 {
		t.Errorf("url translated as %+v", u)
	}
}

// The SSL block's password reaches SSL_GET: the plan build loads an encrypted
// client key with it, and refuses the key without it.
func TestPlanSSLKeyPassword(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	enc, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", p8, []byte("s3cret"), x509.PEMCipherAES128) //nolint:staticcheck // the legacy format OpenSSL 1.x writes
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	src := func(password string) string {
		return "SSL {\n    certificate " + certFile + "\n    key " + keyFile + "\n" + password + "}\n" +
			strings.Replace(httpGetSrc("path /"), "HTTP_GET", "SSL_GET", 1)
	}
	if _, err := newPlan(loadConf(t, src("    password s3cret\n")), &Options{}); err != nil {
		t.Errorf("with the password: %v", err)
	}
	if _, err := newPlan(loadConf(t, src("")), &Options{}); err == nil || !strings.Contains(err.Error(), "set password in the SSL block") {
		t.Errorf("without the password: %v", err)
	}
}

// log_all_failures (and global_defs checker_log_all_failures) log every failed
// check while the checker is up, as keepalived does: the failures retry
// absorbs and the one that takes it down; none while it stays down, and
// none without the keyword.
func TestLogAllFailures(t *testing.T) {
	for _, tc := range []struct {
		name, global, checker string
		want                  int
	}{
		{"off", "", "", 0},
		{"log_all_failures", "", "log_all_failures", 3},
		{"checker_log_all_failures", "checker_log_all_failures", "", 3},
		{"checker off does not override the global (keepalived ORs them)", "checker_log_all_failures", "log_all_failures off", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := testPlan(t, `
global_defs {
    `+tc.global+`
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    delay_loop 2
    retry 2
    delay_before_retry 1
    warmup 0
    real_server 10.0.0.1 80 {
        TCP_CHECK {
            `+tc.checker+`
        }
    }
}`)
				f := &fakeChecker{name: p.checks[0].ID}
				f.ok.Store(true)
				p.checks[0].Checker = f
				fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
				lb := &logBuf{}
				l := newLVS(p, lvsOptions{
					Logger:    slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
					Open:      func() (ipvsKernel, error) { return fk, nil },
					RunScript: func(script.Spec) {},
				})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- l.Run(ctx) }()
				time.Sleep(time.Second)
				f.ok.Store(false)
				time.Sleep(20 * time.Second) // down after 3 failures, then 8 more while down
				synctest.Wait()
				cancel()
				<-done
				if n := strings.Count(lb.String(), `msg="check failed"`); n != tc.want {
					t.Errorf("%d \"check failed\" lines, want %d\n%s", n, tc.want, lb)
				}
				if !strings.Contains(lb.String(), "real server down") {
					t.Errorf("real server never went down\n%s", lb)
				}
			})
		})
	}
}

func rsInitSrc(global, extraRS string) string {
	return `
global_defs {
    ` + global + `
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
        notify_up "/bin/up 10.0.0.1"
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        notify_up "/bin/up 10.0.0.2"
        TCP_CHECK {
            alpha
        }
    }
    real_server 10.0.0.3 80 {
        notify_up "/bin/up 10.0.0.3"
    }
` + extraRS + `
}`
}

// rs_init_notifies runs notify_up for each real server that starts up (not
// for an alpha one, which starts down) when lvs starts, and at a reload for
// the real servers the reload adds; without it, none.
func TestRSInitNotifies(t *testing.T) {
	const extra = `
    real_server 10.0.0.4 80 {
        notify_up "/bin/up 10.0.0.4"
    }`
	for _, tc := range []struct {
		global          string
		atStart, reload []string
	}{
		{"", nil, nil},
		{"rs_init_notifies", []string{"/bin/up 10.0.0.1", "/bin/up 10.0.0.3"}, []string{"/bin/up 10.0.0.4"}},
	} {
		synctest.Test(t, func(t *testing.T) {
			p := testPlan(t, rsInitSrc(tc.global, ""))
			for i := range p.checks {
				f := &fakeChecker{name: p.checks[i].ID} // failing: the alpha check stays down
				f.ok.Store(!strings.Contains(p.checks[i].ID, "10.0.0.2"))
				p.checks[i].Checker = f
			}
			sc := &scripts{}
			fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
			l := newLVS(p, lvsOptions{Open: func() (ipvsKernel, error) { return fk, nil }, RunScript: sc.run})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- l.Run(ctx) }()
			<-l.ready
			synctest.Wait()
			if got := sc.take(); !slices.Equal(got, tc.atStart) {
				t.Errorf("%q at start: scripts %q, want %q", tc.global, got, tc.atStart)
			}
			p2 := testPlan(t, rsInitSrc(tc.global, extra))
			for i := range p2.checks {
				p2.checks[i].Checker = p.checks[min(i, len(p.checks)-1)].Checker
			}
			if _, err := l.commit(ctx, p2); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := sc.take(); !slices.Equal(got, tc.reload) {
				t.Errorf("%q at reload: scripts %q, want %q", tc.global, got, tc.reload)
			}
			cancel()
			<-done
		})
	}
}
