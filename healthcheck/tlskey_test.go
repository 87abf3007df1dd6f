package healthcheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientCert writes a self-signed client certificate and its key, PEM and
// unencrypted (PKCS#8), to dir.
func clientCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lvs-ha checker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	return certFile, keyFile, cert
}

func write(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The SSL block's password decrypts an encrypted client key for SSL_GET:
// legacy "Proc-Type: 4,ENCRYPTED" PEM and PKCS#8 PBES2 written by openssl.
// The server requires the client certificate, so the check passes only when
// the key was loaded.
func TestSSLGetEncryptedClientKey(t *testing.T) {
	dir := t.TempDir()
	certFile, plainKey, cert := clientCert(t, dir)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || !r.TLS.PeerCertificates[0].Equal(cert) {
			w.WriteHeader(http.StatusForbidden)
		}
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")

	b, _ := os.ReadFile(plainKey)
	blk, _ := pem.Decode(b)
	keys := map[string]string{}
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", blk.Bytes, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck // the legacy format under test
	if err != nil {
		t.Fatal(err)
	}
	keys["legacy PEM AES-256"] = filepath.Join(dir, "legacy.pem")
	write(t, keys["legacy PEM AES-256"], pem.EncodeToMemory(legacy))
	if _, err := exec.LookPath("openssl"); err == nil {
		for name, args := range map[string][]string{
			"PKCS#8 PBES2 AES-256 SHA-256": {"-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"},
			"PKCS#8 PBES2 AES-128 SHA-1":   {"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
			"PKCS#8 PBES2 3DES SHA-512":    {"-v2", "des3", "-v2prf", "hmacWithSHA512"},
		} {
			out := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".pem")
			cmd := exec.Command("openssl", append([]string{"pkcs8", "-topk8", "-in", plainKey, "-out", out, "-passout", "pass:s3cret"}, args...)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: openssl: %v\n%s", name, err, msg)
			}
			keys[name] = out
		}
	} else {
		t.Log("no openssl: PKCS#8 cases skipped")
	}

	check := func(keyFile, password string) (Result, error) {
		c, err := NewHTTP(HTTPOptions{SSL: true, Conn: connTo(t, addr, 2*time.Second), URLs: []URL{{Path: "/"}},
			CertFile: certFile, KeyFile: keyFile, KeyPassword: password})
		if err != nil {
			return Result{}, err
		}
		return c.Check(context.Background()), nil
	}
	if res, err := check(plainKey, ""); err != nil || !res.OK {
		t.Fatalf("unencrypted key: %v %+v", err, res)
	}
	for name, keyFile := range keys {
		if res, err := check(keyFile, "s3cret"); err != nil || !res.OK {
			t.Errorf("%s: %v %+v", name, err, res)
		}
		if _, err := check(keyFile, "wrong"); err == nil {
			t.Errorf("%s: wrong password accepted", name)
		}
		if _, err := check(keyFile, ""); err == nil || !strings.Contains(err.Error(), "set password in the SSL block") {
			t.Errorf("%s without password: %v", name, err)
		}
	}
}
