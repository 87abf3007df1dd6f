// Package mailtest starts a real SMTP server (Debian's OpenSMTPD) for tests.
package mailtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// OpenSMTPD starts Debian's OpenSMTPD (.ci/deps installs it) on a free
// loopback port, delivering every message to an mbox file; it returns the
// address and the file. It skips unless root and smtpd are there (fails with
// LVSHA_REQUIRE_ROOT_TESTS=1).
func OpenSMTPD(t testing.TB) (addr, mbox string) {
	t.Helper()
	skip := t.Skip
	if os.Getenv("LVSHA_REQUIRE_ROOT_TESTS") == "1" {
		skip = t.Fatal
	}
	const bin = "/usr/sbin/smtpd"
	if _, err := os.Stat(bin); err != nil {
		skip("OpenSMTPD not installed (bash .ci/deps)")
	}
	if os.Geteuid() != 0 {
		skip("OpenSMTPD needs root")
	}
	// One smtpd at a time from these tests (test binaries run in parallel);
	// each runs in a mount namespace of its own (below).
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "lvsha-smtpd.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // registered first: runs after smtpd has exited
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	// the mda runs as nobody: a directory it can reach and write
	dir, err := os.MkdirTemp("", "lvsha-smtpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	mbox = filepath.Join(dir, "mbox")
	cfg := filepath.Join(dir, "smtpd.conf")
	users := filepath.Join(dir, "vusers")
	if err := os.WriteFile(users, []byte("@example.org nobody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("table vusers file:%s\nlisten on 127.0.0.1 port %s\n"+
		"action \"box\" mda \"/bin/sh -c 'cat >> %s'\" virtual <vusers>\n"+
		"match from any for domain \"example.org\" action \"box\"\n", users, port, mbox)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	// A private mount namespace with its own /run and spool, so a system
	// smtpd (Debian starts one where the package is installed under systemd)
	// neither holds our control socket /run/smtpd.sock nor shares our queue.
	// The spool directory is made inside a tmpfs over /var/spool: the
	// package does not create /var/spool/smtpd (smtpd does at its first
	// start), so on a machine where it never ran there is nothing to mount on.
	script := "mount -t tmpfs -o mode=0755 lvsha-run /run && " +
		"mount -t tmpfs -o mode=0755 lvsha-spool /var/spool && mkdir -m 0711 /var/spool/smtpd && exec " + bin + " -d -f " + cfg
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("smtpd output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtpd not listening on %s:\n%s", addr, out.String())
		}
	}
	return addr, mbox
}
