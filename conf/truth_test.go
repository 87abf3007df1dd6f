package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func vipConf(vips, extra string) string {
	return "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n" + extra +
		"    virtual_ipaddress {\n" + vips + "    }\n}\n"
}

// TestVIPScopeAsKeepalived: scope names and numbers resolve as keepalived's
// find_rttables_scope (rt_scopes names plus built-in ones, strtoul numbers up
// to 255); anything else is warned about and ignored, as keepalived does.
func TestVIPScopeAsKeepalived(t *testing.T) {
	dir := t.TempDir()
	old := rtScopesFile
	rtScopesFile = filepath.Join(dir, "rt_scopes")
	t.Cleanup(func() { rtScopesFile = old })
	if err := os.WriteFile(rtScopesFile, []byte("# comment\n0\tglobal\n100 inner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ scope, want, warn string }{
		{"link", "link", ""},
		{"global", "global", ""},
		{"site", "site", ""},
		{"253", "link", ""},
		{"0xfe", "host", ""},
		{"010", "8", ""},
		{"inner", "100", ""},
		{"255", "nowhere", ""},
		{"universe", "", `invalid scope "universe" specified for 192.0.2.1/24 - ignoring`},
		{"256", "", `invalid scope "256"`},
		{"-1", "", `invalid scope "-1"`},
	} {
		cfg, ds := loadSrc(t, "k.conf", vipConf("        192.0.2.1/24 scope "+tc.scope+"\n", ""))
		if errs := errorsOf(ds); len(errs) > 0 {
			t.Errorf("scope %s: errors:\n%s", tc.scope, dump(ds))
			continue
		}
		if got := cfg.VRRPInstances[0].VIPs[0].Scope; got != tc.want {
			t.Errorf("scope %s: got %q, want %q", tc.scope, got, tc.want)
		}
		if tc.warn != "" && !strings.Contains(dump(ds), "k.conf:5:28: warning: "+tc.warn) {
			t.Errorf("scope %s: want warning %q at 5:28, got:\n%s", tc.scope, tc.warn, dump(ds))
		}
	}
}

// TestAHRefused: keepalived implements IPsec AH; lvs-ha refuses it at the
// auth_type value instead of running without it.
func TestAHRefused(t *testing.T) {
	_, ds := loadSrc(t, "k.conf", vipConf("        192.0.2.1/24\n", "    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n"))
	errs := errorsOf(ds)
	if len(errs) != 1 || errs[0].String() != "k.conf:5:19: AH authentication is not supported by lvs-ha" {
		t.Fatalf("got:\n%s", dump(ds))
	}
}

// TestKeepalivedRanges: values keepalived 2.2.7 accepts are accepted.
func TestKeepalivedRanges(t *testing.T) {
	src := "global_defs {\n    vrrp_garp_master_refresh 4294967295\n    vrrp_garp_master_repeat 4294967295\n    vrrp_garp_interval 2.5\n    smtp_connect_timeout 4294\n}\n" +
		vipConf("        192.0.2.1/24\n", "    garp_master_refresh 14400\n    garp_master_refresh_repeat 4294967295\n")
	cfg, ds := loadSrc(t, "k.conf", src)
	if errs := errorsOf(ds); len(errs) > 0 {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	if got := cfg.VRRPInstances[0].GarpMasterRefresh; got != seconds(14400) {
		t.Errorf("garp_master_refresh = %v", got)
	}
	for _, bad := range []string{"vrrp_garp_master_refresh 4294967296", "smtp_connect_timeout 4295", "vrrp_garp_interval 4295"} {
		_, ds := loadSrc(t, "k.conf", "global_defs {\n    "+bad+"\n}\n")
		if len(errorsOf(ds)) == 0 {
			t.Errorf("%s: accepted", bad)
		}
	}
	// connect_timeout: keepalived's timers are 32-bit microseconds.
	vs := "virtual_server 192.0.2.1 80 {\n    connect_timeout %s\n    real_server 10.0.0.1 80 {\n    }\n}\n"
	if _, ds := loadSrc(t, "k.conf", fmt.Sprintf(vs, "4294")); ds.HasErrors() {
		t.Errorf("connect_timeout 4294:\n%s", dump(ds))
	}
	if _, ds := loadSrc(t, "k.conf", fmt.Sprintf(vs, "4295")); !ds.HasErrors() {
		t.Errorf("connect_timeout 4295 accepted")
	}
}

// TestTrackWeight254: keepalived accepts a tracking weight of +/-254 and
// makes it +/-253 with a warning.
func TestTrackWeight254(t *testing.T) {
	cfg, ds := loadSrc(t, "k.conf", vipConf("        192.0.2.1/24\n", "    track_interface {\n        eth1 weight -254\n    }\n"))
	if ds.HasErrors() || !strings.Contains(dump(ds), "k.conf:5:21: warning: weight for eth1 cannot be +/-254, setting to +/-253") {
		t.Fatalf("diagnostics:\n%s", dump(ds))
	}
	if w := cfg.VRRPInstances[0].TrackInterfaces[0].Weight; w != -253 {
		t.Errorf("weight %d, want -253", w)
	}
	if _, ds := loadSrc(t, "k.conf", vipConf("        192.0.2.1/24\n", "    track_interface {\n        eth1 weight 255\n    }\n")); !ds.HasErrors() {
		t.Errorf("weight 255 accepted")
	}
}
