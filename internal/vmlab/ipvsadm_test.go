package vmlab

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// golden reads one of internal/ipvsadm's golden listings: byte for byte what
// ipvsadm 1.31 prints for its scenario (checked against the real ipvsadm in the
// VM tier).
func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "ipvsadm", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// vmSample is `ipvsadm -Ln` in the VM with traffic in the counters.
const vmSample = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.100:80 wrr
  -> 192.0.2.11:80                Route   3      0          12        
  -> 192.0.2.12:80                Route   1      1          4         
FWM  7 rr persistent 60
  -> 192.0.2.11:0                 Route   1      0          0         
TCP  [2001:db8::100]:80 rr
`

const header = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Table
	}{
		{"empty table", header, nil},
		{"VM sample", vmSample, Table{
			{Line: "TCP 192.0.2.100:80 wrr", Proto: "TCP", Addr: "192.0.2.100:80", Sched: "wrr", Dests: []Dest{
				{Line: "-> 192.0.2.11:80 Route 3 0 12", Addr: "192.0.2.11:80", Forward: "Route", Weight: 3, InActConn: 12},
				{Line: "-> 192.0.2.12:80 Route 1 1 4", Addr: "192.0.2.12:80", Forward: "Route", Weight: 1, ActiveConn: 1, InActConn: 4},
			}},
			{Line: "FWM 7 rr persistent 60", Proto: "FWM", Addr: "7", Sched: "rr", Dests: []Dest{
				{Line: "-> 192.0.2.11:0 Route 1 0 0", Addr: "192.0.2.11:0", Forward: "Route", Weight: 1},
			}},
			{Line: "TCP [2001:db8::100]:80 rr", Proto: "TCP", Addr: "[2001:db8::100]:80", Sched: "rr"},
		}},
		{"one service (-Ln -t)", golden(t, "Ln_service.txt"), Table{
			{Line: "TCP 10.0.0.3:80 wlc", Proto: "TCP", Addr: "10.0.0.3:80", Sched: "wlc", Dests: []Dest{
				{Line: "-> 10.0.0.7:80 Route 1 0 0", Addr: "10.0.0.7:80", Forward: "Route", Weight: 1},
				{Line: "-> 10.0.0.8:80 Route 4 0 0", Addr: "10.0.0.8:80", Forward: "Route", Weight: 4},
				{Line: "-> 10.0.0.200:80 Tunnel 2 0 0", Addr: "10.0.0.200:80", Forward: "Tunnel", Weight: 2},
			}},
		}},
		{"IPv6 fwmark service (-Ln -f)", golden(t, "Ln_fwmark6.txt"), Table{
			{Line: "FWM 20 IPv6 mh (mh-port)", Proto: "FWM", Addr: "20", IPv6: true, Sched: "mh", Dests: []Dest{
				{Line: "-> [fd00::20]:0 Route 1 0 0", Addr: "[fd00::20]:0", Forward: "Route", Weight: 1},
			}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseMap checks whole listings through Map, in the shapes the VM tests
// assert on.
func TestParseMap(t *testing.T) {
	addrWeight := func(d Dest) string { return d.Addr + " " + strconv.Itoa(d.Weight) }
	tests := []struct {
		name string
		in   string
		key  func(Service) string
		dest func(Dest) string
		want map[string][]string
	}{
		{"-Ln by line", golden(t, "Ln.txt"), Service.String, Dest.Short, map[string][]string{
			"FWM -1294967296 fo":                                                {},
			"TCP 10.0.0.3:0 rr persistent 360":                                  {"10.1.1.5:0 Tunnel 1"},
			"TCP 10.0.0.3:80 wlc":                                               {"10.0.0.200:80 Tunnel 2", "10.0.0.7:80 Route 1", "10.0.0.8:80 Route 4"},
			"TCP 10.0.0.6:8080 nq persistent 30 mask 255.255.255.0":             {},
			"TCP 127.0.0.1:22 lblcr":                                            {"127.0.0.1:2222 Masq 1"},
			"UDP 10.0.0.4:53 lc":                                                {"10.0.0.20:5353 Masq 0"},
			"UDP 10.0.0.7:5060 rr ops":                                          {},
			"UDP 10.255.255.254:65535 ovf (flag-3)":                             {},
			"SCTP 10.0.0.5:3868 sed":                                            {},
			"TCP [fd00::1]:443 sh (sh-fallback,sh-port) persistent 600 mask 64": {"[fd00::10]:443 Masq 5", "[fd00:ffff::10]:8443 Masq 6"},
			"FWM 10 rr persistent 360":                                          {"10.0.0.10:8080 Masq 1", "10.0.0.9:0 Masq 2"},
			"FWM 20 IPv6 mh (mh-port)":                                          {"[fd00::20]:0 Route 1"},
		}},
		{"-Ln by key", golden(t, "Ln.txt"), Service.Key, addrWeight, map[string][]string{
			"FWM -1294967296":          {},
			"TCP 10.0.0.3:0":           {"10.1.1.5:0 1"},
			"TCP 10.0.0.3:80":          {"10.0.0.200:80 2", "10.0.0.7:80 1", "10.0.0.8:80 4"},
			"TCP 10.0.0.6:8080":        {},
			"TCP 127.0.0.1:22":         {"127.0.0.1:2222 1"},
			"UDP 10.0.0.4:53":          {"10.0.0.20:5353 0"},
			"UDP 10.0.0.7:5060":        {},
			"UDP 10.255.255.254:65535": {},
			"SCTP 10.0.0.5:3868":       {},
			"TCP [fd00::1]:443":        {"[fd00::10]:443 5", "[fd00:ffff::10]:8443 6"},
			"FWM 10":                   {"10.0.0.10:8080 1", "10.0.0.9:0 2"},
			"FWM 20":                   {"[fd00::20]:0 1"},
		}},
		{"-L (names) by key, full lines", golden(t, "L.txt"), Service.Key, Dest.String, map[string][]string{
			"FWM -1294967296":          {},
			"TCP 10.0.0.3:0":           {"-> 10.1.1.5:0 Tunnel 1 0 0"},
			"TCP 10.0.0.3:http":        {"-> 10.0.0.200:http Tunnel 2 0 0", "-> 10.0.0.7:http Route 1 0 0", "-> 10.0.0.8:http Route 4 0 0"},
			"TCP 10.0.0.6:http-alt":    {},
			"TCP localhost:ssh":        {"-> localhost:2222 Masq 1 0 0"},
			"UDP 10.0.0.4:domain":      {"-> 10.0.0.20:mdns Masq 0 0 0"},
			"UDP 10.0.0.7:sip":         {},
			"UDP 10.255.255.254:65535": {},
			"SCTP 10.0.0.5:3868":       {},
			"TCP [fd00::1]:https":      {"-> [fd00::10]:https Masq 5 0 0", "-> [fd00:ffff::10]:8443 Masq 6 0 0"},
			"FWM 10":                   {"-> 10.0.0.10:8080 Masq 1 0 0", "-> 10.0.0.9:0 Masq 2 0 0"},
			"FWM 20":                   {"-> [fd00::20]:0 Route 1 0 0"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := tb.Map(tc.key, tc.dest); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Map:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"--stats", golden(t, "Ln_stats.txt"), `line 2: "Prot LocalAddress:Port               Conns`},
		{"--rate", golden(t, "Ln_rate.txt"), "line 2: "},
		{"--exact --stats", golden(t, "Ln_exact_stats.txt"), "not the column titles"},
		{"--thresholds", golden(t, "Ln_thresholds.txt"), "not the column titles"},
		{"--persistent-conn", golden(t, "Ln_persistent_conn.txt"), "not the column titles"},
		{"--tun-info", golden(t, "Ln_tun_info.txt"), `line 3: "  -> RemoteAddress:Port           Forward TunnelInfo`},
		{"connections (-Lnc)", golden(t, "Lnc.txt"), `line 1: unexpected "IPVS connection entries"`},
		{"timeouts (--timeout)", golden(t, "L_timeout.txt"), "line 1: unexpected"},
		{"empty", "", "no ipvsadm -L column titles"},
		{"titles twice", header + header[strings.Index(header, "\n")+1:], "line 4: "},
		{"titles swapped", "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nProt LocalAddress:Port Scheduler Flags\n", "line 1: "},
		{"service before titles", "TCP  192.0.2.1:80 rr\n", `line 1: service "TCP  192.0.2.1:80 rr" before the column titles`},
		{"real server first", header + "  -> 192.0.2.11:80 Route 1 0 0\n", "line 4: real server"},
		{"short service line", header + "TCP  192.0.2.1:80\n", "line 4: short service line"},
		{"fwmark without scheduler", header + "FWM  7 IPv6\n", "line 4: service \"FWM  7 IPv6\" without a scheduler"},
		{"short real server line", header + "TCP  192.0.2.1:80 rr\n  -> 192.0.2.11:80 Route 1\n", "line 5: \"  -> 192.0.2.11:80 Route 1\": 4 fields, want 6"},
		{"weight not a number", header + "TCP  192.0.2.1:80 rr\n  -> 192.0.2.11:80 Route x 0 0\n", "line 5: \"  -> 192.0.2.11:80 Route x 0 0\": weight: "},
		{"inactive not a number", header + "TCP  192.0.2.1:80 rr\n  -> 192.0.2.11:80 Route 1 0 -\n", "inactive connections: "},
		{"foreign line", header + "TCP  192.0.2.1:80 rr\nhello\n", `line 5: unexpected "hello"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error with %q", got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
