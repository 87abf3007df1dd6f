package conf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// FuzzLoad: no input makes loading panic, and every diagnostic has a position.
// Includes are refused so the fuzzer cannot wander the file system.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	seeds = append(seeds, "testdata/full.conf")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(inst("VI_1", instBody)))
	f.Add([]byte(vsWith("", "", "")))
	f.Add([]byte("virtual_server_group G {\n 1.2.3.4-9 80\n}\nvirtual_server group G {\n real_server 1.2.3.5 {\n }\n}\n"))
	f.Add([]byte("bgp_speaker {\n router_id 1.2.3.4\n local_as 1\n neighbor ::1 {\n remote_as 2\n bfd min_tx 5 multiplier 3\n ebgp_multihop\n }\n}\nvirtual_server 1.2.3.4 80 {\n lb_kind DR\n bgp_announce min_healthy 2\n real_server 1.2.3.5 80 {\n }\n}\n"))
	f.Add([]byte("vrrp_instance X {\n unicast_peer {\n ::1 min_ttl 3\n }\n advert_int 0.001\n}\n"))
	noFS := syntax.Options{
		ConfigID: testConfigID,
		ReadFile: func(string) ([]byte, error) { return nil, errors.New("no includes while fuzzing") },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, ds := loadBytes("fuzz.conf", src, noFS)
		if cfg == nil {
			t.Fatal("nil config")
		}
		for _, d := range ds {
			if d.Pos.Line < 1 || d.Msg == "" {
				t.Fatalf("diagnostic without place or message: %#v", d)
			}
		}
	})
}

// genConfig writes nVS virtual servers with nRS real servers each, half of
// them checked by TCP_CHECK and half by HTTP_GET.
func genConfig(nVS, nRS int) string {
	var b strings.Builder
	b.Grow(nVS * nRS * 200)
	b.WriteString("global_defs {\n    lvs_flush\n}\n")
	for v := 0; v < nVS; v++ {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n", v/256, v%256)
		for r := 0; r < nRS; r++ {
			fmt.Fprintf(&b, "    real_server 172.%d.%d.%d 80 {\n        weight %d\n", 16+v/256%16, v%256, r+1, r+1)
			if r%2 == 0 {
				b.WriteString("        TCP_CHECK {\n            connect_timeout 3\n            retry 3\n            delay_before_retry 2\n        }\n")
			} else {
				b.WriteString("        HTTP_GET {\n            url {\n                path /health\n                status_code 200-299\n            }\n            connect_timeout 3\n        }\n")
			}
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// BenchmarkParse loads 1,000 virtual servers x 10 real servers (10,000 checkers).
func BenchmarkParse(b *testing.B) {
	src := []byte(genConfig(1000, 10))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		cfg, ds := loadSrc(b, "bench.conf", string(src))
		if ds.HasErrors() || cfg.Counts.Checkers != 10000 {
			b.Fatalf("counts %v, diagnostics:\n%.2000s", cfg.Counts, dump(ds))
		}
	}
}

func TestGeneratedConfigLoads(t *testing.T) {
	cfg, ds := loadSrc(t, "gen.conf", genConfig(20, 10))
	if ds.HasErrors() || len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", dump(ds))
	}
	if want := (Counts{0, 20, 200, 200}); cfg.Counts != want {
		t.Errorf("counts %v, want %v", cfg.Counts, want)
	}
}
