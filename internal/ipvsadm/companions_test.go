package ipvsadm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// scenarioKernel is the in-memory kernel with testdata/scenario.txt built.
func scenarioKernel(t *testing.T) *ipvstest.Kernel {
	t.Helper()
	k := &ipvstest.Kernel{}
	if err := k.SetTimeouts(vmDefaultTimeouts); err != nil {
		t.Fatal(err)
	}
	env := &Env{Kernel: k, Stdout: io.Discard, Stderr: io.Discard, Resolver: goldenResolver{}}
	for _, line := range readScenario(t, "scenario.txt") {
		if code := env.Run(append([]string{"ipvsadm"}, line...)); code != 0 {
			t.Fatalf("ipvsadm %q: exit %d", line, code)
		}
	}
	return k
}

func runTool(t *testing.T, k ipvs.Kernel, stdin string, f func(*Env, []string) int, args ...string) toolResult {
	t.Helper()
	var o, e bytes.Buffer
	env := &Env{Kernel: k, Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e, Resolver: goldenResolver{}}
	code := f(env, args)
	return toolResult{o.String(), e.String(), code}
}

func TestToolDispatch(t *testing.T) {
	for name, want := range map[string]bool{
		"ipvsadm": true, "/usr/sbin/ipvsadm-save": true, "./ipvsadm-restore": true,
		"lvs-ha": false, "ipvsadm-saver": false, "/sbin/ipvsadm.sh": false,
	} {
		if _, ok := Tool(name); ok != want {
			t.Errorf("Tool(%q) = %v, want %v", name, ok, want)
		}
	}
}

// TestSaveOptions: the script's argument loop (help on any "-" argument but
// -n, other words ignored) and `ipvsadm -S [-n]` otherwise.
func TestSaveOptions(t *testing.T) {
	k := scenarioKernel(t)
	saveS := runTool(t, k, "", (*Env).Run, "ipvsadm", "-S")
	saveSn := runTool(t, k, "", (*Env).Run, "ipvsadm", "-S", "-n")
	if saveS.stdout == saveSn.stdout || saveS.code != 0 || saveSn.code != 0 {
		t.Fatalf("-S and -S -n should differ (named ports) and succeed: %+v %+v", saveS, saveSn)
	}
	help := "ipvsadm-save: Script to save the IPVS table to stdout.\n   With the -n option, prints out the table in numeric format.\n"
	for _, c := range []struct {
		args []string
		want toolResult
	}{
		{[]string{"ipvsadm-save"}, saveS},
		{[]string{"/usr/sbin/ipvsadm-save", "-n"}, saveSn},
		{[]string{"ipvsadm-save", "foo", "-n", "bar"}, saveSn},
		{[]string{"ipvsadm-save", "-n", "-n"}, saveSn},
		{[]string{"/sbin/ipvsadm-save", "-h"}, toolResult{"", help, 1}},
		{[]string{"ipvsadm-save", "-n", "-x"}, toolResult{"", help, 1}},
		{[]string{"ipvsadm-save", "--"}, toolResult{"", help, 1}},
		{[]string{"ipvsadm-save", "-nn"}, toolResult{"", help, 1}},
		{[]string{"ipvsadm-save", "-"}, toolResult{"", help, 1}},
		{[]string{"save-rules", "-S"}, toolResult{"", strings.Replace(help, "ipvsadm-save", "save-rules", 1), 1}},
	} {
		if got := runTool(t, k, "", (*Env).Save, c.args...); got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.args, got, c.want)
		}
	}
}

// eofCheck is stdin that checks, when it reaches its end, that the table it
// was saved from has not been flushed yet: ipvsadm-restore reads all of its
// input before `ipvsadm -C`, which makes `ipvsadm-save | ipvsadm-restore`
// safe.
type eofCheck struct {
	r       io.Reader
	k       *ipvstest.Kernel
	flushed bool
}

func (c *eofCheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		tab, _ := c.k.Table()
		c.flushed = len(tab.Services) == 0
	}
	return n, err
}

func TestRestoreRoundTrip(t *testing.T) {
	k := scenarioKernel(t)
	// ipvsadm 1.31 saves marks above 2^31 as negative numbers that its -R
	// rejects (TestVMSaveRestoreRoundTrip); leave that service out.
	if r := runTool(t, k, "", (*Env).Run, "ipvsadm", "-D", "-f", "3000000000"); r.code != 0 {
		t.Fatal(r)
	}
	for _, numeric := range []bool{false, true} {
		args := []string{"ipvsadm-save"}
		if numeric {
			args = append(args, "-n")
		}
		saved := runTool(t, k, "", (*Env).Save, args...)
		if saved.code != 0 || saved.stderr != "" {
			t.Fatalf("save: %+v", saved)
		}
		// A rules file as the Debian init script writes it, and a comment.
		input := "# ipvsadm.rules\n" + saved.stdout + "#-A -t 10.9.9.9:80\n"
		var o, e bytes.Buffer
		in := &eofCheck{r: strings.NewReader(input), k: k}
		env := &Env{Kernel: k, Stdin: in, Stdout: &o, Stderr: &e, Resolver: goldenResolver{}}
		if code := env.Restore([]string{"ipvsadm-restore", "-ignored"}); code != 0 || o.Len() != 0 || e.Len() != 0 {
			t.Fatalf("restore: exit %d, stdout %q, stderr %q", code, o.String(), e.String())
		}
		if in.flushed {
			t.Error("ipvsadm-restore flushed the table before reading all of stdin")
		}
		if again := runTool(t, k, "", (*Env).Save, args...); again.stdout != saved.stdout {
			t.Errorf("after restore (numeric %v):\n%s--- want\n%s", numeric, again.stdout, saved.stdout)
		}
	}
}

// TestRestoreFlushesAndFails: the table is cleared even when a line is bad,
// the exit code and message are those of `ipvsadm -R`: an unknown option
// fails its line only (popt error: parse_options returns), a bad value ends
// the restore (fail(2, ...) exits), lines before it are in.
func TestRestoreFlushesAndFails(t *testing.T) {
	k := scenarioKernel(t)
	input := "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -q\n-A -t 10.9.0.3:80\n"
	got := runTool(t, k, input, (*Env).Restore, "ipvsadm-restore")
	want := runTool(t, &ipvstest.Kernel{}, input, (*Env).Run, "ipvsadm", "-R")
	if got != want {
		t.Errorf("restore of a bad line: %+v, want what ipvsadm -R gives: %+v", got, want)
	}
	if got.stderr != "-q: unknown option\n" || got.code != 0 {
		t.Errorf("restore with an unknown option on a middle line: %+v, want its message and the last line's exit 0", got)
	}
	if s := runTool(t, k, "", (*Env).Run, "ipvsadm", "-S", "-n"); s.stdout != "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.3:80 -s wlc\n" {
		t.Errorf("table after the restore with a bad line:\n%s", s.stdout)
	}
	input = "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -w x\n-A -t 10.9.0.3:80\n"
	got = runTool(t, k, input, (*Env).Restore, "ipvsadm-restore")
	if want := (toolResult{"", "illegal weight specified\n", 2}); got != want {
		t.Errorf("restore with a bad value: %+v, want %+v", got, want)
	}
	if s := runTool(t, k, "", (*Env).Run, "ipvsadm", "-S", "-n"); s.stdout != "-A -t 10.9.0.1:80 -s rr\n" {
		t.Errorf("table after the restore stopped by a bad value:\n%s", s.stdout)
	}
	input = "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -q\n"
	if got := runTool(t, k, input, (*Env).Restore, "ipvsadm-restore"); got.code != ExitError {
		t.Errorf("restore with an unknown option on the last line: %+v, want exit %d", got, ExitError)
	}
	// Empty input: an empty table.
	if r := runTool(t, k, "# nothing\n", (*Env).Restore, "ipvsadm-restore"); r != (toolResult{}) {
		t.Errorf("restore of comments only: %+v", r)
	}
	if s := runTool(t, k, "", (*Env).Run, "ipvsadm", "-S", "-n"); s.stdout != "" {
		t.Errorf("table after restoring nothing:\n%s", s.stdout)
	}
}

// TestCompanionsWithoutIPVS compares with Debian's scripts run on this host
// (whose kernel has no ip_vs, or a user without CAP_NET_ADMIN): both
// commands of ipvsadm-restore report it, each save option path is the same.
// modprobe's own complaint (the real ipvsadm tries to load ip_vs) is left
// out: lvs-ha relies on the kernel's generic netlink autoload.
func TestCompanionsWithoutIPVS(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := os.Stat(realIpvsadmHost); err != nil {
		t.Skip("Debian's ipvsadm is not installed")
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS: the VM tier compares (TestVMCompanionsMatchDebianScripts)")
	}
	noIPVS := func() (ipvs.Kernel, error) { return nil, ipvs.ErrNoIPVS }
	for _, c := range []struct {
		script string
		args   []string
		stdin  string
	}{
		{"ipvsadm-save", nil, ""},
		{"ipvsadm-save", []string{"-n"}, ""},
		{"ipvsadm-save", []string{"-x"}, ""},
		{"ipvsadm-save", []string{"word", "--help"}, ""},
		{"ipvsadm-restore", nil, "-A -t 10.0.0.1:80\n"},
		{"ipvsadm-restore", []string{"-n"}, ""},
	} {
		cmd := exec.Command(bash, append([]string{filepath.Join("testdata", "debian", c.script)}, c.args...)...)
		cmd.Stdin = strings.NewReader(c.stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		code := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			code = ee.ExitCode()
		}
		var kept []string
		for _, l := range strings.SplitAfter(e.String(), "\n") {
			if !strings.HasPrefix(l, "modprobe: ") {
				kept = append(kept, l)
			}
		}
		real := toolResult{o.String(), strings.Join(kept, ""), code}

		var oo, oe bytes.Buffer
		env := &Env{Open: noIPVS, Stdin: strings.NewReader(c.stdin), Stdout: &oo, Stderr: &oe, Resolver: goldenResolver{}}
		f := env.Save
		if c.script == RestoreName {
			f = env.Restore
		}
		code = f(append([]string{c.script}, c.args...))
		ours := toolResult{oo.String(), oe.String(), code}
		if real != ours {
			t.Errorf("%s %q:\nDebian %+v\nours   %+v", c.script, c.args, real, ours)
		}
	}
}

const realIpvsadmHost = "/usr/sbin/ipvsadm"

// TestDebianScriptsCopy keeps testdata/debian equal to the installed scripts.
func TestDebianScriptsCopy(t *testing.T) {
	for _, name := range []string{SaveName, RestoreName} {
		installed, err := os.ReadFile("/usr/sbin/" + name)
		if err != nil {
			t.Skipf("Debian's ipvsadm is not installed: %v", err)
		}
		copied, err := os.ReadFile(filepath.Join("testdata", "debian", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(installed, copied) {
			t.Errorf("testdata/debian/%s differs from /usr/sbin/%s: copy it again", name, name)
		}
	}
}

// toolResult is what one run of a command gives.
type toolResult struct {
	stdout, stderr string
	code           int
}
