package daemon

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// TestKeywordTranslationSNIName: sni_name (keepalived 2.4) reaches the
// HTTP_GET and SSL_GET checkers as the TLS server name and enables SNI;
// without a name it only enables SNI (the virtual host is sent).
func TestKeywordTranslationSNIName(t *testing.T) {
	p := testPlan(t, `
virtual_server 192.0.2.1 443 {
    protocol TCP
    real_server 10.0.0.1 443 {
        SSL_GET {
            virtualhost www.example.test
            sni_name sni.example.test
            url {
                path /
            }
        }
        HTTP_GET {
            virtualhost www.example.test
            sni_name
            url {
                path /
            }
        }
    }
}`)
	if len(p.checks) != 2 {
		t.Fatalf("%d checks", len(p.checks))
	}
	want := []struct {
		sni  bool
		name string
	}{{true, "sni.example.test"}, {true, ""}}
	for i, c := range p.checks {
		o := c.Checker.(healthcheck.Definer).Definition().(healthcheck.HTTPOptions)
		if o.EnableSNI != want[i].sni || o.SNIName != want[i].name {
			t.Errorf("%s: EnableSNI %v SNIName %q, want %v %q", c.ID, o.EnableSNI, o.SNIName, want[i].sni, want[i].name)
		}
	}
}

// TestDaemonStateDumpFile: SIGUSR1 writes the state dump to the
// configuration's state_dump_file (keepalived 2.3.4) instead of -dump-file.
func TestDaemonStateDumpFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.data")
	src := strings.Replace(reloadSrc("100", "2", ""), "global_defs {", "global_defs {\n    state_dump_file "+path, 1)
	td := startTestDaemon(t, src, true)
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	td.signals <- syscall.SIGUSR1
	waitLog(t, td.logs, "state dumped")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dump Dump
	if err := json.Unmarshal(b, &dump); err != nil || len(dump.Status.Instances) != 1 {
		t.Errorf("dump in state_dump_file: %v\n%s", err, b)
	}
	if _, err := os.Stat(td.d.opts.DumpFile); !os.IsNotExist(err) {
		t.Errorf("-dump-file %s written too (or: %v)", td.d.opts.DumpFile, err)
	}
}

// TestKeywordTranslationV3ChecksumAsV2: keepalived 2.3's v3_checksum_as_v2
// in vrrp_instance (with an optional boolean) and in global_defs (the
// instances' default; keepalived itself only shows the global one in SNMP)
// reach the VRRP machine, whose adverts then carry the checksum without the
// IPv4 pseudo-header (vrrp TestGolden, TestTsharkChecksums).
func TestKeywordTranslationV3ChecksumAsV2(t *testing.T) {
	inst := func(name, vrid, extra string) string {
		return "vrrp_instance " + name + " {\n    interface lo\n    version 3\n    virtual_router_id " + vrid + "\n" + extra +
			"    virtual_ipaddress {\n        192.0.2." + vrid + "/24\n    }\n}\n"
	}
	for _, c := range []struct {
		global string
		want   []bool
	}{
		{"", []bool{false, true, false}},
		{"global_defs {\n    v3_checksum_as_v2\n}\n", []bool{true, true, false}},
	} {
		p := testPlan(t, c.global+inst("VI_1", "51", "")+inst("VI_2", "52", "    v3_checksum_as_v2\n")+inst("VI_3", "53", "    v3_checksum_as_v2 false\n"))
		for i, in := range p.instances {
			if in.Machine.V3ChecksumAsV2 != c.want[i] {
				t.Errorf("global %q: %s V3ChecksumAsV2 %v, want %v", c.global, in.Machine.Name, in.Machine.V3ChecksumAsV2, c.want[i])
			}
		}
	}
}

// TestKeywordTranslationOwnerIgnoreAdverts: keepalived 2.3.4's
// owner_ignore_adverts (default: the global vrrp_owner_ignore_adverts)
// reaches the VRRP machine of an address owner (priority 255), which then
// drops received adverts (vrrp TestMaster/owner_ignore_adverts); on an
// instance of lower priority it is dropped with keepalived's warning.
func TestKeywordTranslationOwnerIgnoreAdverts(t *testing.T) {
	inst := func(name, vrid, prio, extra string) string {
		return "vrrp_instance " + name + " {\n    interface lo\n    priority " + prio + "\n    virtual_router_id " + vrid + "\n" + extra +
			"    virtual_ipaddress {\n        192.0.2." + vrid + "/24\n    }\n}\n"
	}
	for _, c := range []struct {
		global string
		want   []bool
	}{
		{"", []bool{false, true, false, false}},
		{"global_defs {\n    vrrp_owner_ignore_adverts\n}\n", []bool{true, true, false, false}},
	} {
		p := testPlan(t, c.global+inst("VI_1", "51", "255", "")+inst("VI_2", "52", "255", "    owner_ignore_adverts\n")+
			inst("VI_3", "53", "255", "    owner_ignore_adverts false\n")+inst("VI_4", "54", "100", "    owner_ignore_adverts\n"))
		for i, in := range p.instances {
			if in.Machine.OwnerIgnoreAdverts != c.want[i] {
				t.Errorf("global %q: %s OwnerIgnoreAdverts %v, want %v", c.global, in.Machine.Name, in.Machine.OwnerIgnoreAdverts, c.want[i])
			}
		}
	}
}

// TestVRRPDelayAfterBoot: vrrp_delay_after_boot (keepalived 2.4) delays the
// VRRP instances until that long after boot: the runner's startup delay
// (whose effect TestRunnerStartupDelay shows) is what is left of it, or
// vrrp_startup_delay if longer; none once the system has been up long enough.
func TestVRRPDelayAfterBoot(t *testing.T) {
	for _, c := range []struct {
		global string
		uptime time.Duration
		err    error
		want   time.Duration
	}{
		{"vrrp_delay_after_boot 60", 15 * time.Second, nil, 45 * time.Second},
		{"vrrp_delay_after_boot 60", 2 * time.Minute, nil, 0},
		{"vrrp_delay_after_boot 60\n    vrrp_startup_delay 50", 15 * time.Second, nil, 50 * time.Second},
		{"vrrp_delay_after_boot 60\n    vrrp_startup_delay 5", 58 * time.Second, nil, 5 * time.Second},
		{"vrrp_delay_after_boot 60", 0, errors.New("no /proc"), 0},
		{"vrrp_startup_delay 5", time.Hour, nil, 5 * time.Second},
	} {
		cfg, ds := conf.LoadBytes("k.conf", []byte("global_defs {\n    "+c.global+"\n}\nvrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n"), conf.Options{})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		var got *runner.Options
		_, err := NewWithOptions(cfg, Options{
			Logger: slog.New(slog.DiscardHandler),
			newVRRP: func(ro runner.Options) (vrrpRunner, error) {
				got = &ro
				return &fakeVRRP{opts: ro, ready: make(chan struct{})}, nil
			},
			uptime: func() (time.Duration, error) { return c.uptime, c.err },
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.StartupDelay != c.want {
			t.Errorf("%q, up %v: runner startup delay %v, want %v", c.global, c.uptime, got, c.want)
		}
	}
}

// TestNoVirtualIPAddress: a VRRPv3 instance with no_virtual_ipaddress
// (keepalived 2.3) and no VIPs is built for the runner (whose machine then
// sends adverts without addresses: vrrp TestNoVIPsVRRPv3), with a located
// warning that such adverts break RFC 5798.
func TestNoVirtualIPAddress(t *testing.T) {
	src := "vrrp_instance VI_1 {\n    interface lo\n    version 3\n    virtual_router_id 51\n    no_virtual_ipaddress\n}\n"
	cfg, ds := conf.LoadBytes("n.conf", []byte(src), conf.Options{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	ds = Check(cfg)
	if len(ds) != 1 || ds[0].Pos.Line != 1 || !strings.Contains(ds[0].Msg, "vrrp_instance VI_1: no_virtual_ipaddress with VRRPv3 sends adverts without addresses") {
		t.Errorf("check: %v", ds)
	}
	p := testPlan(t, src)
	if len(p.instances) != 1 || len(p.instances[0].Machine.VIPs) != 0 || p.instances[0].Machine.Version != 3 {
		t.Errorf("instances %+v", p.instances)
	}
}
