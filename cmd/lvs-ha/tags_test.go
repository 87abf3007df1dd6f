package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// The binary is built with the Makefile's GOTAGS, which leave gRPC's
// golang.org/x/net/trace out (it executes html/template, and a reachable
// reflective method call keeps every exported method of the program in the
// binary: 37 MB instead of 30); the integration and VM tiers build it with
// the same tag. ~1 s (go list).
func TestBuildLeavesOutGRPCTrace(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^GOTAGS\s*\?=\s*(.*)$`).FindSubmatch(mk)
	if m == nil || !strings.Contains(string(m[1]), "grpcnotrace") {
		t.Fatalf("Makefile: GOTAGS does not set grpcnotrace")
	}
	tags := strings.TrimSpace(string(m[1]))
	if !strings.Contains(string(mk), `build -trimpath -tags "$(GOTAGS)"`) {
		t.Errorf("Makefile: the build does not use GOTAGS")
	}
	for _, f := range []string{"../../integration/vm/build", "../../integration/main_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "grpcnotrace") {
			t.Errorf("%s builds lvs-ha without grpcnotrace", f)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-tags", tags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "golang.org/x/net/trace" {
			t.Errorf("with -tags %s lvs-ha still links %s", tags, pkg)
		}
	}
}
