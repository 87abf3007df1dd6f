package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/doctor"
)

func TestDoctorUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"doctor", "-frob"},
		{"doctor", "extra"},
		{"doctor", "-tun"},
		{"doctor", "-realserver"},
		{"doctor", "-realserver", "nope"},
		{"doctor", "-realserver", "-tun", "2001:db8::1"},
		{"doctor", "-nat", "10.1.1.1"},
		{"doctor", "-realserver", "-nat", "nope"},
		{"doctor", "-realserver", "-nat", "224.0.0.1"},
		{"doctor", "-realserver", "-nat", "10.1.1.1", "10.0.0.100"},
		{"doctor", "-realserver", "-tun", "-nat", "10.1.1.1"},
	} {
		if code, _, errOut := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, ExitUsage, errOut)
		}
	}
}

// TestDoctorHelpMatchesREADME keeps `lvs-ha help doctor` and README's list of
// checks equal.
func TestDoctorHelpMatchesREADME(t *testing.T) {
	code, help, _ := run(t, "help", "doctor")
	if code != ExitOK {
		t.Fatalf("help doctor: exit %d", code)
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, sec, ok := strings.Cut(readme, "### `lvs-ha doctor` checks\n")
	if !ok {
		t.Fatal("README has no \"### `lvs-ha doctor` checks\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n#")
	var listed []string
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "- `") {
			listed = append(listed, l)
		}
	}
	if len(listed) != len(doctor.Checks) {
		t.Errorf("README lists %d checks, lvs-ha help doctor %d", len(listed), len(doctor.Checks))
	}
	for i, c := range doctor.Checks {
		if w := "- `" + c.Name + "`: " + c.Doc; i >= len(listed) || listed[i] != w {
			t.Errorf("README check %d: want %q", i, w)
		}
		if !strings.Contains(help, c.Name) || !strings.Contains(help, c.Doc) {
			t.Errorf("help doctor does not list %s", c.Name)
		}
	}
	if !strings.Contains(readme, "| `lvs-ha doctor") {
		t.Error("README's command table has no lvs-ha doctor row")
	}
}
