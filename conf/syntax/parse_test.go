package syntax

import (
	"reflect"
	"strings"
	"testing"
)

type parseCase struct {
	name  string
	src   string
	want  string   // render() of the tree
	pos   string   // positions(), when not empty
	diags []string // exact diagnostics (file name "t.conf")
}

func runCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns, ds := Parse("t.conf", []byte(tc.src), memFS{}.opts())
			if got := render(ns); got != tc.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tc.want)
			}
			if tc.pos != "" {
				if got := positions(ns, false); got != tc.pos {
					t.Errorf("positions:\n got %s\nwant %s", got, tc.pos)
				}
			}
			if got := diagStrings(ds); !reflect.DeepEqual(got, tc.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", got, tc.diags)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	runCases(t, []parseCase{
		{name: "empty", src: "", want: ""},
		{name: "only comments", src: "# a\n! b\n   \n\t# c\n", want: ""},
		{
			name: "block brace at end of line",
			src:  "global_defs {\n  router_id r1\n}\n",
			want: "global_defs { router_id r1 }",
			pos:  "global_defs@1:1 router_id@2:3 r1@2:13 }@3:1",
		},
		{
			name: "brace on next line",
			src:  "vrrp_instance VI_1\n{\n\tstate MASTER\n}\n",
			want: "vrrp_instance VI_1 { state MASTER }",
			pos:  "vrrp_instance@1:1 VI_1@1:15 state@3:2 MASTER@3:8 }@4:1",
		},
		{
			name: "brace after comment and blank lines",
			src:  "vrrp_instance VI_1 # the instance\n\n# more\n{\n}\n",
			want: "vrrp_instance VI_1 { }",
		},
		{
			name: "inline block",
			src:  "track_script { chk }\n",
			want: "track_script { chk }",
			pos:  "track_script@1:1 chk@1:16 }@1:20",
		},
		{
			name: "inline blocks and statements after them",
			src:  "a { b } c\nd{e f}g\n",
			want: "a { b }; c; d { e f }; g",
			pos:  "a@1:1 b@1:5 }@1:7 c@1:9 d@2:1 e@2:3 f@2:5 }@2:6 g@2:7",
		},
		{
			name: "closing brace after arguments",
			src:  "virtual_ipaddress {\n  10.0.0.1/24 dev eth0 }\nnext\n",
			want: "virtual_ipaddress { 10.0.0.1/24 dev eth0 }; next",
			pos:  "virtual_ipaddress@1:1 10.0.0.1/24@2:3 dev@2:15 eth0@2:19 }@2:24 next@3:1",
		},
		{
			name: "nested blocks",
			src:  "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n   connect_timeout 3\n  }\n }\n}\n",
			want: "virtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } } }",
		},
		{
			name: "empty block",
			src:  "a {}\nb {\n}\n",
			want: "a { }; b { }",
		},
		{
			name: "braces in quotes are text",
			src:  "notify \"/bin/x {a}\" '{'\n",
			want: "notify \"/bin/x {a}\" \"{\"",
		},
		{
			name: "escaped brace is text",
			src:  "a \\{ b\n",
			want: "a \"{\" b",
		},
		{
			name:  "unclosed block",
			src:   "global_defs {\n  router_id r1\n",
			want:  "global_defs { router_id r1 }",
			diags: []string{`t.conf:1:1: unclosed block "global_defs": no matching '}' (end of input at t.conf:3:1)`},
		},
		{
			name: "two unclosed blocks",
			src:  "a {\n b {\n  c {\n  }\n",
			want: "a { b { c { } } }",
			diags: []string{
				`t.conf:1:1: unclosed block "a": no matching '}' (end of input at t.conf:5:1)`,
				`t.conf:2:2: unclosed block "b": no matching '}' (end of input at t.conf:5:1)`,
			},
		},
		{
			name:  "unclosed block without final newline",
			src:   "a {\n b",
			want:  "a { b }",
			diags: []string{`t.conf:1:1: unclosed block "a": no matching '}' (end of input at t.conf:2:3)`},
		},
		{
			name:  "stray closing brace",
			src:   "a {\n}\n}\nb\n",
			want:  "a { }; b",
			diags: []string{"t.conf:3:1: unbalanced '}': no block is open"},
		},
		{
			name:  "stray closing brace after arguments",
			src:   "router_id r1 }\n",
			want:  "router_id r1",
			diags: []string{"t.conf:1:14: unbalanced '}': no block is open"},
		},
		{
			name:  "brace without keyword",
			src:   "{\n x\n}\ny\n",
			want:  "y",
			diags: []string{"t.conf:1:1: unexpected '{': no keyword before it"},
		},
		{
			name:  "second brace after a block",
			src:   "a {\n} {\n b\n}\n",
			want:  "a { }",
			diags: []string{"t.conf:2:3: unexpected '{': no keyword before it"},
		},
		{
			name:  "all errors are collected",
			src:   "}\na \"x\n}\n",
			want:  "a x",
			diags: []string{"t.conf:1:1: unbalanced '}': no block is open", "t.conf:2:3: unterminated quoted string", "t.conf:3:1: unbalanced '}': no block is open"},
		},
		{
			name: "CRLF line endings",
			src:  "a {\r\n b c\r\n}\r\n",
			want: "a { b c }",
			pos:  "a@1:1 b@2:2 c@2:4 }@3:1",
		},
	})
}

func TestCommentsAndQuotes(t *testing.T) {
	runCases(t, []parseCase{
		{name: "hash comment", src: "a b # c d\n", want: "a b"},
		{name: "bang comment", src: "a b! c d\n", want: "a b"},
		{name: "comment at start", src: "  # a\n!b\nc\n", want: "c", pos: "c@3:1"},
		{name: "comment chars in double quotes", src: "a \"b # c ! d\" e # f\n", want: `a "b # c ! d" e`},
		{name: "comment chars in single quotes", src: "a 'b # c' e\n", want: `a "b # c" e`},
		{name: "escaped comment chars", src: "a b\\#c \\!d\n", want: "a b#c !d"},
		{
			name: "man page: one string",
			src:  "abcd\" efg h jkl \"mnop\n",
			want: `"abcd efg h jkl mnop"`,
		},
		{
			name: "man page: three strings",
			src:  "abcd \"efg h jkl\" mnop\n",
			want: `abcd "efg h jkl" mnop`,
			pos:  "abcd@1:1 efg h jkl@1:6 mnop@1:18",
		},
		{name: "single quotes", src: "x 'a \"b\" c'\n", want: `x "a \"b\" c"`},
		{name: "double quotes keep single", src: "x \"a 'b' c\"\n", want: `x "a 'b' c"`},
		{name: "empty quoted word", src: "x \"\" y\n", want: `x "" y`},
		{
			name: "escapes",
			src:  `x "\a\b\E\f\n\r\t\v" \101\x41\x4a4 \cA \\ \" \' \q` + "\n",
			want: `x "\a\b\x1b\f\n\r\t\v" AAJ4 "\x01" \ "\"" ' q`,
		},
		{name: "octal up to three digits", src: `x \1011 \0 \8` + "\n", want: `x A1 "\x00" 8`},
		{name: "escaped quote does not end string", src: `x "a\"b" 'c\'d'` + "\n", want: `x "a\"b" c'd`},
		{name: "escaped space joins", src: `x a\ b` + "\n", want: `x "a b"`},
		{
			name:  "unterminated double quote",
			src:   "notify \"/bin/x arg\nnext\n",
			want:  `notify "/bin/x arg"; next`,
			diags: []string{"t.conf:1:8: unterminated quoted string"},
		},
		{
			name:  "unterminated single quote mid word",
			src:   "a b'c d\n",
			want:  `a "bc d"`,
			diags: []string{"t.conf:1:4: unterminated quoted string"},
		},
		{name: "quoted flag", src: "a \"b\"\n", want: "a b"},
	})
	ns, _ := Parse("t.conf", []byte("a b\"c\" 'd' e\n"), Options{ConfigID: "x"})
	var q []bool
	for _, w := range append([]Word{ns[0].Keyword}, ns[0].Args...) {
		q = append(q, w.Quoted)
	}
	if want := []bool{false, true, true, false}; !reflect.DeepEqual(q, want) {
		t.Errorf("Quoted = %v, want %v", q, want)
	}
}

func TestContinuation(t *testing.T) {
	runCases(t, []parseCase{
		{
			name: "trailing backslash joins lines",
			src:  "lvs_sync_daemon eth0 \\\n    inst VI_1 \\\n    id 3\nnext\n",
			want: "lvs_sync_daemon eth0 inst VI_1 id 3; next",
			pos:  "lvs_sync_daemon@1:1 eth0@1:17 inst@2:5 VI_1@2:10 id@3:5 3@3:8 next@4:1",
		},
		{name: "no blank before backslash", src: "a b\\\nc\n", want: "a b c"},
		{name: "escaped backslash does not continue", src: "a b\\\\\nc\n", want: `a b\; c`},
		{name: "comment then backslash continues", src: "a # note \\\nb\n", want: "a b"},
		{name: "continuation inside quotes", src: "a \"b \\\n  c\"\n", want: `a "b c"`},
		{name: "continuation at end of file", src: "a b \\", want: "a b"},
		{name: "empty line ends continuation", src: "a \\\n\nb\n", want: "a; b"},
		{name: "continued braces", src: "a \\\n{ b }\n", want: "a { b }"},
	})
}

func TestConditional(t *testing.T) {
	// memFS{}.opts() sets ConfigID "main".
	runCases(t, []parseCase{
		{
			name: "man page",
			src: `global_defs {
    @main   router_id main_router
    @backup router_id backup_router
}
vrrp_instance VRRP {
    @main	unicast_src_ip 1.2.3.4
    @backup	unicast_src_ip 1.2.3.5
    @backup2 unicast_src_ip 1.2.3.6
    unicast_peer {
        @^main    1.2.3.4
        @^backup  1.2.3.5
        @^backup2 1.2.3.6
    }
}
`,
			want: "global_defs { router_id main_router }; vrrp_instance VRRP { unicast_src_ip 1.2.3.4; unicast_peer { 1.2.3.5; 1.2.3.6 } }",
			pos:  "global_defs@1:1 router_id@2:13 main_router@2:23 }@4:1 vrrp_instance@5:1 VRRP@5:15 unicast_src_ip@6:11 1.2.3.4@6:26 unicast_peer@9:5 1.2.3.5@11:19 1.2.3.6@12:19 }@13:5 }@14:1",
		},
		{name: "prefix of the id does not match", src: "@mai a\n@mainx b\n", want: ""},
		{name: "nothing after the id", src: "@main\n@^x\nb\n", want: "b"},
		{name: "conditional block", src: "@main a {\n b\n}\n", want: "a { b }"},
		{name: "conditional after a brace applies to the rest of the line", src: "a { @main b }\nc { @other d }\n}\n", want: "a { b }; c { }"},
		{name: "only one prefix is stripped", src: "@main @main x\n", want: "@main x"},
	})
	ns, _ := Parse("t.conf", []byte("@^backup a\n@backup b\n"), Options{ConfigID: "backup"})
	if got := render(ns); got != "b" {
		t.Errorf("ConfigID backup: got %s", got)
	}
	if id := ConfigIDDefault(); strings.Contains(id, ".") {
		t.Errorf("ConfigIDDefault() = %q contains a dot", id)
	}
}

func TestDefinitions(t *testing.T) {
	runCases(t, []parseCase{
		{
			name: "simple",
			src:  "$PRIO=100\npriority $PRIO\npriority ${PRIO}0\n",
			want: "priority 100; priority 1000",
			pos:  "priority@2:1 100@2:10 priority@3:1 1000@3:10",
		},
		{name: "reference needs a separator", src: "$A=x\na $A.b $A,c ($A) $A\tz\n", want: "a $A.b x,c (x) x z"},
		{name: "value keeps inner blanks", src: "$A=  x   y \na $A\n", want: "a x y"},
		{name: "value with comment", src: "$A=1 # one\na $A\n", want: "a 1"},
		{name: "empty value", src: "$E=\na$E b\nc $E d\n", want: "a b; c d"},
		{name: "no blank before =", src: "$A =1\n", want: "$A =1"},
		{name: "name cannot start with a digit", src: "$1A=1\n", want: "$1A=1"},
		{name: "redefinition", src: "$A=1\na $A\n$A=2\na $A\n", want: "a 1; a 2"},
		{
			name: "man page: recursive, at replacement time",
			src:  "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n",
			want: "10.2.0.100/32; 10.2.10.100/32",
		},
		{
			name:  "undefined is left as is",
			src:   "a $UNDEF \"${UNDEF}\" ${UNDEF}x\n",
			want:  `a $UNDEF "${UNDEF}" "${UNDEF}x"`,
			diags: []string{"t.conf:1:21: warning: undefined parameter ${UNDEF} left as is"},
		},
		{
			name: "man page: with conditional configuration",
			src:  "@main $PRIORITY=240\n@backup $PRIORITY=200\nvrrp_instance VI_0 {\n    priority $PRIORITY\n}\n",
			want: "vrrp_instance VI_0 { priority 240 }",
		},
		{
			name: "man page: definition holding a conditional",
			src:  "$IF_MAIN=@main\n$IF_MAIN priority 240\n$IF_NOT=@other\n$IF_NOT priority 1\n",
			want: "priority 240",
		},
		{
			name: "replacement text continues with the rest of the line",
			src:  "$D=$\n$B=ok\na ${D}B ${D}B.x\n$P=${\nb ${P}B}\n",
			want: "a ok $B.x; b ok",
		},
		{
			name: "definition producing a definition",
			src:  "$D=$B=3\n$D\nb $B\n",
			want: "b 3",
		},
		{
			name: "substitution inside quotes",
			src:  "$S=/bin/x\nnotify \"$S arg\"\n",
			want: `notify "/bin/x arg"`,
		},
		{
			name: "substituted comment character starts a comment (keepalived)",
			src:  "a${_HASH}b c\nd \"${_HASH}${_BANG}\"\n${_BANG}x\n",
			want: `a; d #!`,
		},
		{
			name: "value with braces opens a block",
			src:  "$OPEN=vrrp_instance X {\n$OPEN\n state MASTER\n}\n",
			want: "vrrp_instance X { state MASTER }",
		},
		{
			name: "definitions after a brace",
			src:  "a { $X=1\n b $X }\n",
			want: "a { b 1 }",
		},
		{
			name: "pre-defined",
			src:  "a ${_INSTANCE} $_INSTANCE ${_RANDOM} ${_RANDOM 7} ${_RANDOM 5 9}x\n",
			want: "a main main 0 7 5x",
		},
		{
			name: "pre-defined can be overridden",
			src:  "$_INSTANCE=me\na $_INSTANCE\n",
			want: "a me",
		},
		{
			name:  "random with min above max",
			src:   "a ${_RANDOM 9 5}\nb\n",
			want:  "b",
			diags: []string{"t.conf:1:3: ${_RANDOM 9 5}: MIN is greater than MAX"},
		},
		{
			name:  "random with too many parameters",
			src:   "a ${_RANDOM 1 1 1}\n",
			want:  "a 1",
			diags: []string{`t.conf:1:3: warning: too many parameters for ${_RANDOM MIN MAX}: "1" ignored`},
		},
		{
			name: "parameters only for pre-defined definitions",
			src:  "$A=1\na ${A 2}\n",
			want: `a "${A" "2}"`,
		},
	})
}

func TestPredefinedPWD(t *testing.T) {
	ns, ds := Parse("/etc/keepalived/keepalived.conf", []byte("a ${_PWD}/x\n"), Options{ConfigID: "x"})
	if got := render(ns); got != "a /etc/keepalived/x" || len(ds) != 0 {
		t.Errorf("got %s %v", got, ds)
	}
}

func TestRandomDefault(t *testing.T) {
	for range 20 {
		ns, _ := Parse("t.conf", []byte("a ${_RANDOM 3 5}\n"), Options{ConfigID: "x"})
		if v := ns[0].Args[0].Text; v != "3" && v != "4" && v != "5" {
			t.Fatalf("${_RANDOM 3 5} = %s", v)
		}
	}
}

func TestMultilineDefinitions(t *testing.T) {
	runCases(t, []parseCase{
		{
			name: "man page: instance template",
			src: `$INSTANCE= \
vrrp_instance VI_${NUM} { \
    interface eth0.${NUM} \
    use_vmac vrrp${NUM}.1 \
    virtual_router_id 1 \
    @main priority 130 \
    @backup priority 120 \
    advert_int 1 \
    virtual_ipaddress { \
        10.0.${NUM}.254/24 \
    } \
    track_script { \
        offset_instance_${NUM} \
    } \
}

$NUM=0
$INSTANCE

$NUM=1
$INSTANCE
`,
			want: "vrrp_instance VI_0 { interface eth0.0; use_vmac vrrp0.1; virtual_router_id 1; priority 130; advert_int 1; virtual_ipaddress { 10.0.0.254/24 }; track_script { offset_instance_0 } }; " +
				"vrrp_instance VI_1 { interface eth0.1; use_vmac vrrp1.1; virtual_router_id 1; priority 130; advert_int 1; virtual_ipaddress { 10.0.1.254/24 }; track_script { offset_instance_1 } }",
		},
		{
			// The lines keep their places in the definition; text
			// substituted into them is placed at its reference.
			name: "positions of expanded lines",
			src:  "$T= \\\n  a ${V} \\\n  b\n$V=x\n$T\n",
			want: "a x; b",
			pos:  "a@2:3 x@2:5 b@3:3",
		},
		{
			name: "man page: nested definitions",
			src: `$_PWD=/d
$RS= \
real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \
    weight 1 \
    MISC_CHECK { \
        misc_path "${_PWD}/vs.sh ${INST}.${VS_NUM}.${RS_NUM}" \
    } \
}

$VS= \
virtual_server 10.0.${VS_NUM}.4 80 { \
    quorum 2 \
    $RS_NUM=1 \
    $RS \
    $RS_NUM=2 \
    $RS \
}

$INST=i
$VS_NUM=0
$VS
`,
			want: "virtual_server 10.0.0.4 80 { quorum 2; real_server 192.168.0.1 80 { weight 1; MISC_CHECK { misc_path \"/d/vs.sh i.0.1\" } }; real_server 192.168.0.2 80 { weight 1; MISC_CHECK { misc_path \"/d/vs.sh i.0.2\" } } }",
		},
		{
			name: "first line in the head",
			src:  "$M=a 1 \\\nb 2\nx $M\n",
			want: "x a 1; b 2",
		},
		{
			name: "empty head and one line is a single-line definition",
			src:  "$N= \\\n  n1\na $N b\n",
			want: "a n1 b",
		},
		{
			name: "comment and blank-only lines do not end a definition",
			src:  "$M= \\\n  m1 \\\n# comment\n   \\\n  m2\n$M\n",
			want: "m1; m2",
		},
		{
			name: "an empty line ends a definition (keepalived)",
			src:  "$M= \\\n  m1 \\\n\n  m2\n$M\n",
			want: "m2; m1",
		},
		{
			name:  "only substituted at the end of a line",
			src:   "$M= \\\n m1 \\\n m2\n$M post\npre ${M}\n",
			want:  "$M post; pre m1; m2",
			diags: []string{"t.conf:4:1: warning: multi-line definition $M is only substituted at the end of a line; left as is"},
		},
		{
			name: "conditional head drops the whole definition",
			src:  "$M=old\n@backup $M= \\\n  x \\\n  y\na $M\n",
			want: "a old",
		},
		{
			name: "conditional lines inside",
			src:  "$M= \\\n @main a \\\n @backup b \\\n c\n$M\n",
			want: "a; c",
		},
	})
}

func TestSeq(t *testing.T) {
	runCases(t, []parseCase{
		{
			name: "man page",
			src:  "~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n",
			want: "ip_address 10.0.0.1; ip_address 10.0.1.1; ip_address 10.0.2.1; ip_address 10.0.3.1",
			pos:  "ip_address@1:20 10.0.0.1@1:31 ip_address@1:20 10.0.1.1@1:31 ip_address@1:20 10.0.2.1@1:31 ip_address@1:20 10.0.3.1@1:31",
		},
		{
			name: "man page: hex",
			src:  "~SEQx(SUBNET, 144, 16, 192) ip_address fe80::20:${SUBNET}:1\n~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip fe80::20:${SUBNET}:1\n",
			want: "ip_address fe80::20:90:1; ip_address fe80::20:a0:1; ip_address fe80::20:b0:1; ip_address fe80::20:c0:1; " +
				"ip fe80::20:90:1; ip fe80::20:a0:1; ip fe80::20:b0:1; ip fe80::20:c0:1",
		},
		{
			name: "man page: nested in a block",
			src:  "virtual_ipaddress {\n    ~SEQx(AD2, 0x90, 0x10, 0xa0) ~SEQx(AD1, 0x12, -1, 0x11) fe81::10:${AD2}:${AD1}\n}\n",
			want: "virtual_ipaddress { fe81::10:90:12; fe81::10:90:11; fe81::10:a0:12; fe81::10:a0:11 }",
		},
		{name: "end only", src: "~SEQ(I, 3) a$I\n", want: "a1; a2; a3"},
		{name: "negative end only", src: "~SEQ(I, -2) a$I\n", want: "a-1; a-2"},
		{name: "zero end only", src: "~SEQ(I, 0) a$I\n", want: "a1; a0"},
		{name: "start and end down", src: "~SEQ(I, 3, 1) a$I\n", want: "a3; a2; a1"},
		{name: "step not reaching end", src: "~SEQ(I, 1, 2, 6) a$I\n", want: "a1; a3; a5"},
		{name: "single value", src: "~SEQ(I, 5, 5) a$I\n", want: "a5"},
		{name: "octal like strtol", src: "~SEQ(I, 010, 011) a$I\n", want: "a8; a9"},
		{name: "parameters from definitions", src: "$N=3\n~SEQ(I, 2, $N) a$I\n", want: "a2; a3"},
		{
			name: "with a multi-line definition",
			src:  "$VI= \\\nvrrp_instance v${IF}.${ID} { \\\n  virtual_router_id ${ID} \\\n}\n~SEQ(IF,0,1) ~SEQ(ID,1,2) $VI\n",
			want: "vrrp_instance v0.1 { virtual_router_id 1 }; vrrp_instance v0.2 { virtual_router_id 2 }; vrrp_instance v1.1 { virtual_router_id 1 }; vrrp_instance v1.2 { virtual_router_id 2 }",
		},
		{
			name: "sequence in a definition",
			src:  "$S=~SEQ(Q,1,2) t${Q}\n$S\n",
			want: "t1; t2",
		},
		{name: "missing paren", src: "~SEQ I, 3) a\n", want: "", diags: []string{"t.conf:1:1: invalid ~SEQ specification: expected ~SEQ(VAR, [START, [STEP,]] END)"}},
		{name: "missing close", src: "~SEQ(I, 3 a\n", want: "", diags: []string{"t.conf:1:1: invalid ~SEQ specification: missing ')'"}},
		{name: "bad number", src: "~SEQ(I, 1, x) a\n", want: "", diags: []string{`t.conf:1:1: invalid ~SEQ specification "~SEQ(I, 1, x)": expected ~SEQ(VAR, [START, [STEP,]] END)`}},
		{name: "zero step", src: "~SEQ(I, 1, 0, 5) a\n", want: "", diags: []string{"t.conf:1:1: invalid ~SEQ values: cannot go from 1 to 5 in steps of 0"}},
		{name: "wrong direction", src: "~SEQ(I, 5, 1, 1) a\n", want: "", diags: []string{"t.conf:1:1: invalid ~SEQ values: cannot go from 5 to 1 in steps of 1"}},
		{name: "hex negative", src: "~SEQx(I, -1, 1) a\n", want: "", diags: []string{"t.conf:1:1: ~SEQx is only valid for non-negative numbers"}},
		{name: "bad variable", src: "~SEQ(1x, 3) a\n", want: "", diags: []string{`t.conf:1:6: invalid ~SEQ variable name "1x"`}},
		{name: "out of range", src: "~SEQ(I, 99999999999999999999) a\n", want: "", diags: []string{"t.conf:1:1: invalid ~SEQ values: number out of range"}},
		{name: "other tilde word", src: "~FOO a\n", want: "~FOO a"},
	})
}

func TestLst(t *testing.T) {
	runCases(t, []parseCase{
		{
			name: "man page: several variables",
			src:  "~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n",
			want: "192.168.10.1; 192.168.20.4; 192.168.5.6; 192.168.12.8",
		},
		{
			name: "man page: nested",
			src:  "~LST(IP, 1, 2) ~LST(IP1, 5,6,7) 192.169.${IP}.${IP1}\n",
			want: "192.169.1.5; 192.169.1.6; 192.169.1.7; 192.169.2.5; 192.169.2.6; 192.169.2.7",
		},
		{
			name: "man page: with a sequence",
			src:  "~LST({IP,   IP1},  {10,1},{20,4})  ~SEQ(IP2,168,2,172) 192.${IP2}.${IP}.${IP1}\n",
			want: "192.168.10.1; 192.170.10.1; 192.172.10.1; 192.168.20.4; 192.170.20.4; 192.172.20.4",
		},
		{name: "missing values are empty", src: "~LST({A, B}, {1}, 2) x${A}y${B}z\n", want: "x1yz; x2yz"},
		{name: "too many values", src: "~LST({A, B}, {1,2,3}) x\n", want: "", diags: []string{"t.conf:1:1: invalid ~LST specification: too many values in a set"}},
		{name: "no values", src: "~LST(A) x\n", want: "", diags: []string{`t.conf:1:6: invalid ~LST variable name "A)"`}},
		{name: "no values after variables", src: "~LST({A}) x\n", want: "", diags: []string{"t.conf:1:1: invalid ~LST specification: no values"}},
		{name: "missing close", src: "~LST(A, 1, 2 x\n", want: "", diags: []string{"t.conf:1:1: invalid ~LST specification: unexpected 'x' in values"}},
		{name: "bad variable", src: "~LST(A-B, 1) x\n", want: "", diags: []string{`t.conf:1:6: invalid ~LST variable name "A-B"`}},
	})
}

func TestDiagnosticString(t *testing.T) {
	var ds Diagnostics
	ds.Errorf(Pos{File: "f", Line: 1, Col: 2}, "bad %d", 1)
	ds.Warnf(Pos{File: "f", Line: 3, Col: 4}, "meh")
	if got := diagStrings(ds); !reflect.DeepEqual(got, []string{"f:1:2: bad 1", "f:3:4: warning: meh"}) || !ds.HasErrors() {
		t.Errorf("got %q", got)
	}
}
