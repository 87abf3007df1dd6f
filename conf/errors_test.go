package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// inst wraps body in a valid vrrp_instance.
func inst(name, body string) string {
	return "vrrp_instance " + name + " {\n" + body + "\n}\n"
}

const instBody = `    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }`

// vs wraps body in a valid virtual_server with one checked real server.
func vsWith(head, body, rs string) string {
	if head == "" {
		head = "virtual_server 192.0.2.10 80"
	}
	if rs == "" {
		rs = "    real_server 192.0.2.21 80 {\n        TCP_CHECK {\n        }\n    }"
	}
	return head + " {\n    lvs_sched rr\n    lvs_method NAT\n    protocol TCP\n" + body + "\n" + rs + "\n}\n"
}

// markerLine is the 1-based line holding the "# <--" marker.
func markerLine(t *testing.T, src string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "# <--") {
			return i + 1
		}
	}
	t.Fatalf("no # <-- marker in:\n%s", src)
	return 0
}

func TestBrokenConfigs(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		msg     string // substring of the error
		include bool   // src is written to disk and loaded with Load
	}{
		{name: "unclosed brace", src: "global_defs {\n    router_id a\n}\nvrrp_instance VI_1 { # <--\n" + instBody + "\n", msg: "unclosed"},
		{name: "extra closing brace", src: inst("VI_1", instBody) + "} # <--\n", msg: "'}'"},
		{name: "unknown block", src: "global_defs {\n}\nfrobnicate { # <--\n    a b\n}\n", msg: `unknown block "frobnicate"`},
		{name: "unknown top-level keyword", src: "router_id lvs1 # <--\n", msg: `unknown keyword "router_id" at top level`},
		{name: "bad state", src: inst("VI_1", instBody+"\n    state MAYBE # <--"), msg: `invalid state "MAYBE"`},
		{name: "vrid out of range", src: inst("VI_1", "    interface eth0\n    virtual_router_id 256 # <--\n    virtual_ipaddress {\n        192.0.2.10\n    }"), msg: "virtual_router_id"},
		{name: "priority 0", src: inst("VI_1", instBody+"\n    priority 0 # <--"), msg: `invalid priority "0"`},
		{name: "sched slice below the kernel's minimum", src: "global_defs {\n    vrrp_sched_slice 50 # <--\n}\n", msg: "vrrp_sched_slice 50: want 0"},
		{name: "sched slice above the kernel's maximum", src: "global_defs {\n    vrrp_sched_slice 100001 # <--\n}\n", msg: "vrrp_sched_slice"},
		{name: "bad nftables table", src: "global_defs {\n    nftables 1bad # <--\n}\n" + inst("VI_1", instBody), msg: `nftables: bad table name "1bad"`},
		{name: "bad nftables_priority", src: "global_defs {\n    nftables_priority x # <--\n}\n" + inst("VI_1", instBody), msg: `invalid nftables_priority "x"`},
		{name: "priority 256", src: inst("VI_1", instBody+"\n    priority 256 # <--"), msg: `invalid priority "256"`},
		{name: "advert_int 0", src: inst("VI_1", instBody+"\n    advert_int 0 # <--"), msg: `invalid advert_int "0"`},
		{name: "advert_int not a number", src: inst("VI_1", instBody+"\n    advert_int fast # <--"), msg: `invalid advert_int "fast"`},
		{name: "bad version", src: inst("VI_1", instBody+"\n    version 4 # <--"), msg: `invalid version "4"`},
		{name: "missing include", src: "includem /nonexistent-lvs-ha-dir/missing.conf # <--\n", msg: "missing.conf", include: true},
		{name: "unterminated quote", src: inst("VI_1", instBody+"\n    notify_master \"/bin/true arg # <--"), msg: "unterminated"},
		{name: "bad VIP", src: inst("VI_1", "    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.300/24 # <--\n    }"), msg: `invalid IP address "192.0.2.300/24"`},
		{name: "bad VIP prefix", src: inst("VI_1", "    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.3/33 # <--\n    }"), msg: "prefix length"},
		{name: "VIP family mismatch", src: inst("VI_1", instBody+"\n    virtual_ipaddress {\n        2001:db8::1 # <--\n    }"), msg: "is IPv6 but vrrp_instance"},
		{name: "bad virtual_server port", src: "virtual_server 192.0.2.10 70000 { # <--\n    lvs_sched rr\n}\n", msg: `invalid virtual_server port "70000"`},
		{name: "bad real_server port", src: vsWith("", "", "    real_server 192.0.2.21 http { # <--\n    }"), msg: `invalid real_server port "http"`},
		{name: "bad virtual_server address", src: "virtual_server 192.0.2 80 { # <--\n}\n", msg: "not an IP address"},
		{name: "unknown scheduler", src: vsWith("", "    lvs_sched roundrobin # <--", ""), msg: `unknown scheduler "roundrobin"`},
		{name: "unknown lb_algo", src: vsWith("", "    lb_algo wrrr # <--", ""), msg: `unknown scheduler "wrrr"`},
		{name: "unknown lb_kind", src: vsWith("", "    lb_kind PROXY # <--", ""), msg: `unknown forwarding method "PROXY"`},
		{name: "bad protocol", src: vsWith("", "    protocol ICMP # <--", ""), msg: `unknown protocol "ICMP"`},
		{name: "duplicate VRID", src: inst("VI_1", instBody) + "vrrp_instance VI_2 { # <--\n" + instBody + "\n}\n", msg: "virtual_router_id 51 with IPv4 on interface eth0 is already used by vrrp_instance VI_1"},
		{name: "track_script to nothing", src: inst("VI_1", instBody+"\n    track_script {\n        chk_nothing # <--\n    }"), msg: `track_script "chk_nothing" names no vrrp_script`},
		{name: "bad auth_type", src: inst("VI_1", instBody+"\n    authentication {\n        auth_type MD5 # <--\n        auth_pass x\n    }"), msg: `invalid auth_type "MD5"`},
		{name: "missing interface", src: "vrrp_instance VI_1 { # <--\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n", msg: "missing interface"},
		{name: "missing virtual_router_id", src: "vrrp_instance VI_1 { # <--\n    interface eth0\n    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n", msg: "missing virtual_router_id"},
		{name: "unicast peer of the wrong family", src: inst("VI_1", instBody+"\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        2001:db8::2 # <--\n    }"), msg: "unicast_peer \"2001:db8::2\" is IPv6"},
		{name: "bad unicast peer", src: inst("VI_1", instBody+"\n    unicast_peer {\n        192.0.2.256 # <--\n    }"), msg: "invalid unicast_peer"},
		{name: "unknown virtual_server_group", src: "virtual_server group NOPE { # <--\n    lvs_sched rr\n    real_server 192.0.2.21 80 {\n    }\n}\n", msg: `virtual_server group "NOPE" names no virtual_server_group`},
		{name: "duplicate vrrp_instance", src: inst("VI_1", instBody) + "vrrp_instance VI_1 { # <--\n" + instBody + "\n}\n", msg: `duplicate vrrp_instance "VI_1"`},
		{name: "duplicate vrrp_script", src: "vrrp_script s {\n    script /bin/true\n}\nvrrp_script s { # <--\n    script /bin/true\n}\n", msg: `duplicate vrrp_script "s"`},
		{name: "sync group names unknown instance", src: inst("VI_1", instBody) + "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_9 # <--\n    }\n}\n", msg: `unknown vrrp_instance "VI_9"`},
		{name: "bad boolean", src: inst("VI_1", instBody+"\n    smtp_alert maybe # <--"), msg: `invalid smtp_alert value "maybe"`},
		{name: "negative timer", src: vsWith("", "    connect_timeout -1 # <--", ""), msg: `invalid connect_timeout "-1"`},
		{name: "track_interface weight out of range", src: inst("VI_1", instBody+"\n    track_interface {\n        eth1 weight 300 # <--\n    }"), msg: `invalid weight "300"`},
		{name: "lvs_sync_daemon unknown instance", src: "global_defs {\n    lvs_sync_daemon eth0 VI_9 # <--\n}\n" + inst("VI_1", instBody), msg: `unknown vrrp_instance "VI_9"`},
		{name: "bad status_code", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        HTTP_GET {\n            url {\n                path /\n                status_code 700 # <--\n            }\n        }\n    }"), msg: `invalid HTTP status code "700"`},
		{name: "bad digest", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        HTTP_GET {\n            url {\n                path /\n                digest xyz # <--\n            }\n        }\n    }"), msg: `invalid digest "xyz"`},
		{name: "HTTP_GET without url", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        HTTP_GET { # <--\n            connect_timeout 3\n        }\n    }"), msg: "HTTP_GET has no url"},
		{name: "MISC_CHECK without misc_path", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        MISC_CHECK { # <--\n        }\n    }"), msg: "MISC_CHECK has no misc_path"},
		{name: "duplicate real_server", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n    }\n    real_server 192.0.2.21 80 { # <--\n    }"), msg: "is duplicated"},
		{name: "real_server family mismatch", src: vsWith("", "", "    real_server 2001:db8::21 80 { # <--\n    }"), msg: "real_server 2001:db8::21 is IPv6"},
		{name: "bad connect_ip", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        TCP_CHECK {\n            connect_ip 1.2.3.4.5 # <--\n        }\n    }"), msg: `invalid connect_ip "1.2.3.4.5"`},
		{name: "bad connect_port", src: vsWith("", "", "    real_server 192.0.2.21 80 {\n        TCP_CHECK {\n            connect_port 0 # <--\n        }\n    }"), msg: `invalid connect_port "0"`},
		{name: "bad vrrp_mcast_group4", src: "global_defs {\n    vrrp_mcast_group4 192.0.2.1 # <--\n}\n", msg: "not an IPv4 multicast address"},
		{name: "value keyword given a block", src: inst("VI_1", instBody+"\n    priority { # <--\n    }"), msg: "does not take a { } block"},
		{name: "block keyword without block", src: inst("VI_1", instBody+"\n    virtual_ipaddress 192.0.2.11 # <--"), msg: "needs a { } block"},
		{name: "missing value", src: inst("VI_1", instBody+"\n    interface # <--"), msg: `"interface" needs a value`},
		{name: "virtual_server_group bad range", src: "virtual_server_group G {\n    192.0.2.10-5 80 # <--\n}\n", msg: "range end before start"},
		{name: "tunnel options without TUN", src: vsWith("", "    lvs_method DR type gue # <--", ""), msg: "only valid with TUN"},
		{name: "gue without port", src: vsWith("", "    lvs_method TUN type gue # <--", ""), msg: "gue tunnels require a port"},
		{name: "vrrp_script without script", src: "vrrp_script chk { # <--\n    interval 2\n}\n", msg: `vrrp_script "chk" has no script`},
		{name: "unicast in strict mode", src: "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_1 { # <--\n" + instBody + "\n    unicast_peer {\n        192.0.2.2\n    }\n}\n", msg: "not allowed in strict mode"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d cases", len(tests))
	}
	checkBrokenCorpus(t, func(yield func(name, src string)) {
		for _, tc := range tests {
			if !tc.include {
				yield(tc.name, tc.src)
			}
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantLine := markerLine(t, tc.src)
			var (
				ds   syntax.Diagnostics
				file string
			)
			if tc.include {
				file = filepath.Join(t.TempDir(), "broken.conf")
				if err := os.WriteFile(file, []byte(tc.src), 0o644); err != nil {
					t.Fatal(err)
				}
				_, ds = loadFile(t, file)
			} else {
				file = "broken.conf"
				_, ds = loadSrc(t, file, tc.src)
			}
			if !ds.HasErrors() {
				t.Fatalf("no error; diagnostics:\n%s\nsource:\n%s", dump(ds), tc.src)
			}
			for _, d := range errorsOf(ds) {
				if d.Pos.File == file && d.Pos.Line == wantLine && strings.Contains(d.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("want an error at %s:%d containing %q; got:\n%s", file, wantLine, tc.msg, dump(ds))
		})
	}
}

// brokenDir holds every self-contained broken config of TestBrokenConfigs as a
// file, so that the command-line tests (internal/cli) can check that
// `lvs-ha check-config` exits 1 on each and names the marked line.
const brokenDir = "testdata/broken"

func brokenFileName(name string) string {
	return strings.NewReplacer(" ", "-", "/", "-", "'", "", "\"", "").Replace(name) + ".conf"
}

// checkBrokenCorpus writes (with -update) or verifies testdata/broken.
func checkBrokenCorpus(t *testing.T, each func(yield func(name, src string))) {
	t.Helper()
	want := map[string]string{}
	each(func(name, src string) { want[brokenFileName(name)] = src })
	if *update {
		if err := os.RemoveAll(brokenDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(brokenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, src := range want {
			if err := os.WriteFile(filepath.Join(brokenDir, f), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(brokenDir, "*.conf"))
	if len(files) != len(want) {
		t.Errorf("%s has %d files, want %d (run go test ./conf -run TestBrokenConfigs -update)", brokenDir, len(files), len(want))
	}
	for f, src := range want {
		got, err := os.ReadFile(filepath.Join(brokenDir, f))
		if err != nil || string(got) != src {
			t.Errorf("%s/%s is out of date (run go test ./conf -run TestBrokenConfigs -update)", brokenDir, f)
		}
	}
}
