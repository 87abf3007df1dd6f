package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
)

// blockSkeleton puts the line KW in a block of kind block; the keyword is on
// the returned line, at column 1.
func blockSkeleton(block, kw string) (string, int) {
	open := map[string][]string{
		"top level":       nil,
		"global_defs":     {"global_defs {"},
		"vrrp_script":     {"vrrp_script S {"},
		"vrrp_instance":   {"vrrp_instance VI_1 {"},
		"authentication":  {"vrrp_instance VI_1 {", "authentication {"},
		"vrrp_sync_group": {"vrrp_sync_group G {"},
		"virtual_server":  {"virtual_server 192.0.2.1 80 {"},
		"real_server":     {"virtual_server 192.0.2.1 80 {", "real_server 10.0.0.1 80 {"},
		"url":             {"virtual_server 192.0.2.1 80 {", "real_server 10.0.0.1 80 {", "HTTP_GET {", "url {"},
		"host":            {"virtual_server 192.0.2.1 80 {", "real_server 10.0.0.1 80 {", "SMTP_CHECK {", "host {"},
		"SSL":             {"SSL {"},
	}
	o, ok := open[block]
	if !ok { // a checker
		o = []string{"virtual_server 192.0.2.1 80 {", "real_server 10.0.0.1 80 {", block + " {"}
	}
	lines := append(append([]string(nil), o...), kw)
	for range o {
		lines = append(lines, "}")
	}
	return strings.Join(lines, "\n") + "\n", len(o) + 1
}

// TestCheckConfigNamesEveryWarnedKeyword: check-config on a configuration
// using any warned keyword prints the keyword's name and FILE:LINE:COL.
func TestCheckConfigNamesEveryWarnedKeyword(t *testing.T) {
	n := 0
	for _, k := range conf.Keywords() {
		if k.Status != conf.Warned {
			continue
		}
		n++
		src, line := blockSkeleton(k.Block, k.Keyword)
		p := writeConf(t, src)
		_, _, errOut := run(t, "check-config", "-f", p)
		want := fmt.Sprintf("%s:%d:1: warning: %q", p, line, k.Keyword)
		ok := false
		for _, l := range strings.Split(errOut, "\n") {
			ok = ok || (strings.HasPrefix(l, want) && strings.Contains(l, "is not supported by lvs-ha (ignored)"))
		}
		if !ok {
			t.Errorf("%s %s: no %q ... \"is not supported by lvs-ha (ignored)\" in:\n%s", k.Block, k.Keyword, want, errOut)
		}
	}
	if n < 50 {
		t.Errorf("only %d warned keywords", n)
	}
}
