package syntax

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds exercise every feature of the grammar and preprocessor.
var fuzzSeeds = []string{
	"global_defs {\n  router_id r1 # comment\n}\n",
	"vrrp_instance VI_1\n{\n  state MASTER\n  virtual_ipaddress { 10.0.0.1/24 dev eth0 }\n  track_script {\n    chk\n  }\n}\n",
	"virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n",
	"notify \"/bin/x.sh 'a b'\" 'c\\td' \\x41\\101\\cA abcd\" efg \"h\n",
	"@main a\n@^main b\n@other { c }\n",
	"$A=1\n$B=${A}2\na $A ${B} $UNDEF ${UNDEF}\n",
	"$M= \\\n  x ${N} { \\\n    y \\\n  }\n$N=1\n$M\n",
	"~SEQ(I, 1, 3) a$I\n~SEQx(J, 0x9, 2, 0xd) b${J}\n~LST({A,B}, {1,2},{3}) c${A}_${B}\n",
	"include inc.conf\nincluder d/*.conf\nincludea {inc,none}.conf\n",
	"global_defs {\n include_check\n}\nincludew nothing/*\n",
	"a ${_PWD} ${_INSTANCE} ${_RANDOM 1 9} ${_HASH}\n",
	"a \\\n b \\\n c\n",
	"a {\n}\n}\n{\n",
	"$S=~SEQ(Q,1,2) t${Q}\n$S\n",
	"a \"unterminated\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), []byte("inc {\n  $A\n}\n"))
	}
	samples, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, []byte(""))
		}
	}
	f.Fuzz(func(t *testing.T, src, inc []byte) {
		m := memFS{
			"/etc/k/inc.conf": string(inc),
			"/etc/k/d/a.conf": "a {\n",
			"/etc/k/d/b.conf": "}\ninclude ../inc.conf\n",
		}
		opts := m.opts()
		opts.Limits = Limits{
			MaxLines: 20000, MaxStatements: 5000, MaxLineLength: 4096, MaxSubstitutions: 1000,
			MaxExpandedBytes: 1 << 20, MaxExpansionDepth: 16, MaxBlockDepth: 32, MaxIncludeDepth: 8,
			MaxFiles: 50, MaxDiagnostics: 100,
		}
		ns, ds := Parse("/etc/k/keepalived.conf", src, opts)
		checkTree(t, ns, 0)
		for _, d := range ds {
			checkPos(t, "diagnostic "+d.Msg, d.Pos)
		}
		// Parsing is deterministic.
		ns2, ds2 := Parse("/etc/k/keepalived.conf", src, opts)
		if render(ns) != render(ns2) || strings.Join(diagStrings(ds), "\n") != strings.Join(diagStrings(ds2), "\n") {
			t.Fatal("non-deterministic result")
		}
	})
}

func checkPos(t *testing.T, what string, p Pos) {
	t.Helper()
	if p.File == "" || p.Line < 1 || p.Col < 1 {
		t.Fatalf("%s: bad position %+v", what, p)
	}
}

func checkTree(t *testing.T, ns []*Node, depth int) {
	t.Helper()
	for _, n := range ns {
		checkPos(t, "keyword "+n.Keyword.Text, n.Keyword.Pos)
		for _, a := range n.Args {
			checkPos(t, "argument "+a.Text, a.Pos)
		}
		if !n.Block && len(n.Children) > 0 {
			t.Fatalf("%s: children without a block", n.Keyword.Text)
		}
		if n.Block {
			checkTree(t, n.Children, depth+1)
		}
	}
}
