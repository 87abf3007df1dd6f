//go:build vm

package ipvsadm

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// runScript runs one of Debian's companion scripts (testdata/debian, copies
// of /usr/sbin/ipvsadm-save and -restore; the VM has busybox sh, not bash,
// which runs them alike) over the real ipvsadm 1.31 of the VM.
func runScript(t *testing.T, stdin, script string, args ...string) result {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{filepath.Join("testdata", "debian", script)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %q: %v", script, args, err)
		}
		code = ee.ExitCode()
	}
	return result{o.String(), e.String(), code}
}

func runOursCompanion(t *testing.T, stdin, script string, args ...string) result {
	t.Helper()
	var o, e bytes.Buffer
	env := &Env{
		Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e,
		Open:     func() (ipvs.Kernel, error) { return ipvs.NewNetlink() },
		Resolver: &SystemResolver{},
	}
	f := env.Save
	if script == RestoreName {
		f = env.Restore
	}
	code := f(append([]string{script}, args...))
	closeKernel(env)
	return result{o.String(), e.String(), code}
}

// TestVMCompanionsMatchDebianScripts saves with Debian's ipvsadm-save and
// restores with ours, and the other way round, and compares the outputs,
// messages and exit codes of both on the same tables and bad inputs.
func TestVMCompanionsMatchDebianScripts(t *testing.T) {
	vmtest.Require(t)
	buildScenario(t, true)
	// Not restorable by ipvsadm 1.31 (see TestVMSaveRestoreRoundTrip).
	mustReal(t, "-D", "-f", "3000000000")
	want := serviceBlocks(mustReal(t, "-S", "-n"))

	for _, args := range [][]string{nil, {"-n"}, {"x", "-n"}, {"-n", "-q"}, {"--help"}} {
		real := runScript(t, "", SaveName, args...)
		ours := runOursCompanion(t, "", SaveName, args...)
		if real != ours {
			t.Errorf("ipvsadm-save %q differs\n--- Debian (exit %d, stderr %q)\n%s--- ours (exit %d, stderr %q)\n%s",
				args, real.code, real.stderr, real.stdout, ours.code, ours.stderr, ours.stdout)
		}
	}

	for _, numeric := range []bool{false, true} {
		var args []string
		if numeric {
			args = []string{"-n"}
		}
		saved := runScript(t, "", SaveName, args...)
		// Something to flush first, and comments to drop.
		mustReal(t, "-A", "-t", "10.99.0.1:80")
		if r := runOursCompanion(t, "# ipvsadm.rules\n"+saved.stdout, RestoreName); r != (result{}) {
			t.Fatalf("our ipvsadm-restore of Debian's ipvsadm-save %q: %+v", args, r)
		}
		if got := serviceBlocks(mustReal(t, "-S", "-n")); got != want {
			t.Errorf("after our restore of Debian's save %q:\n%s--- want\n%s", args, got, want)
		}
		ours := runOursCompanion(t, "", SaveName, args...)
		mustReal(t, "-A", "-t", "10.99.0.1:80")
		if r := runScript(t, "# ipvsadm.rules\n"+ours.stdout, RestoreName); r != (result{}) {
			t.Fatalf("Debian's ipvsadm-restore of our ipvsadm-save %q: %+v", args, r)
		}
		if got := serviceBlocks(mustReal(t, "-S", "-n")); got != want {
			t.Errorf("after Debian's restore of our save %q:\n%s--- want\n%s", args, got, want)
		}
	}

	// Bad input: the table is flushed, an unknown option fails its line
	// only, a bad value ends the restore; the messages and exit code are
	// -R's.
	for _, in := range []string{
		"-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -q\n-A -t 10.9.0.3:80\n",
		"-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.9.0.7\n-A -t 10.9.0.1:80\n",
		"-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -w x\n-A -t 10.9.0.3:80\n",
		"-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -q\n",
		"-R\n", "", "#only\n#comments", "-A -t 10.9.0.1:80\n# -q\n\n  \n-A -t 10.9.0.2:80 -p 60 # comment?\n",
	} {
		real := runScript(t, in, RestoreName)
		realTable := mustReal(t, "-S", "-n")
		ours := runOursCompanion(t, in, RestoreName)
		ourTable := mustReal(t, "-S", "-n")
		if real != ours || realTable != ourTable {
			t.Errorf("ipvsadm-restore of %q differs\n--- Debian: %+v, table\n%s--- ours: %+v, table\n%s",
				in, real, realTable, ours, ourTable)
		}
	}
}

// TestVMBinaryAsCompanions runs the lvs-ha binary through symlinks named
// ipvsadm-save and ipvsadm-restore: `ipvsadm-save -n | ipvsadm-restore`
// (the restore reads all of its input before flushing) keeps the table.
func TestVMBinaryAsCompanions(t *testing.T) {
	vmtest.Require(t)
	bin := "/usr/local/bin/lvs-ha"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no %s: %v", bin, err)
	}
	buildScenario(t, true)
	mustReal(t, "-D", "-f", "3000000000")
	want := serviceBlocks(mustReal(t, "-S", "-n"))
	dir := t.TempDir()
	for _, name := range []string{SaveName, RestoreName} {
		if err := os.Symlink(bin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("/bin/sh", "-c", dir+"/ipvsadm-save -n | "+dir+"/ipvsadm-restore").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("ipvsadm-save -n | ipvsadm-restore: %v: %s", err, out)
	}
	if got := serviceBlocks(mustReal(t, "-S", "-n")); got != want {
		t.Errorf("after the pipe:\n%s--- want\n%s", got, want)
	}
	out, err = exec.Command(filepath.Join(dir, SaveName), "-x").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "ipvsadm-save: Script to save") {
		t.Errorf("ipvsadm-save -x: %v: %s", err, out)
	}
}
