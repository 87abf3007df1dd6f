package syntax

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSamples parses keepalived's sample configurations: none may give a
// diagnostic.
func TestSamples(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	if _, err := os.Stat("/etc/keepalived/keepalived.conf.sample"); err == nil {
		files = append(files, "/etc/keepalived/keepalived.conf.sample")
	}
	if len(files) == 0 {
		t.Skip("keepalived samples not installed")
	}
	for _, f := range files {
		for _, id := range []string{"high", "low"} { // keepalived.conf.conditional_conf uses these
			t.Run(filepath.Base(f)+"/"+id, func(t *testing.T) {
				ns, ds := ParseFile(f, Options{ConfigID: id})
				if len(ds) > 0 {
					t.Errorf("%s", strings.Join(diagStrings(ds), "\n"))
				}
				if len(ns) == 0 {
					t.Error("no statements")
				}
				checkTree(t, ns, 0)
			})
		}
	}
}

// largeConfig is a configuration of nvs virtual servers with nrs real
// servers each, every one with a TCP_CHECK.
func largeConfig(nvs, nrs int) []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id lvs1\n}\n\n")
	for v := range nvs {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\n", v/256, v%256)
		for r := range nrs {
			fmt.Fprintf(&b, "    real_server 192.168.%d.%d 80 {\n        weight %d\n        TCP_CHECK {\n            connect_port 80\n            connect_timeout 3   # seconds\n            retry 3\n            delay_before_retry 3\n        }\n    }\n", v%256, r+1, r+1)
		}
		b.WriteString("}\n\n")
	}
	return []byte(b.String())
}

func TestLargeConfig(t *testing.T) {
	ns, ds := Parse("big.conf", largeConfig(20, 10), Options{ConfigID: "x"})
	if len(ds) != 0 || len(ns) != 21 || len(ns[20].Children) != 14 || render(ns[20].Children[13:]) != "real_server 192.168.19.10 80 { weight 10; TCP_CHECK { connect_port 80; connect_timeout 3; retry 3; delay_before_retry 3 } }" {
		t.Fatalf("%d nodes %v: %s", len(ns), ds, render(ns[20].Children[13:]))
	}
}

func BenchmarkParseSyntax(b *testing.B) {
	src := largeConfig(1000, 10)
	opts := Options{ConfigID: "x"}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := Parse("big.conf", src, opts); len(ds) != 0 {
			b.Fatal(ds)
		}
	}
}
