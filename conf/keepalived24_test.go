package conf

import (
	"strings"
	"testing"
	"time"
)

// A configuration written from keepalived 2.4's keepalived.conf(5): every
// keyword is recognised, the ones lvs-ha does not act on are warned at
// their line with the reason. auth_hmac is refused (TestAuthHMACRefused).
const keepalived24Conf = `global_defs {
    state_dump_file /run/keepalived.data
    json_dump_file /run/keepalived.json
    json_version 2
    stats_dump_file /run/keepalived.stats
    vrrp_owner_ignore_adverts
    vrrp_delay_after_boot 15.23
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 255
    owner_ignore_adverts
    virtual_ipaddress {
        192.0.2.1/24
    }
}
virtual_server 192.0.2.1 443 {
    protocol TCP
    real_server 10.0.0.1 443 {
        SSL_GET {
            sni_name sni.example.test
            tls_compliant
            url {
                path /
                tls_compliant
            }
        }
    }
}
`

func TestKeepalived24Keywords(t *testing.T) {
	cfg, ds := loadSrc(t, "k24.conf", keepalived24Conf)
	if errs := errorsOf(ds); len(errs) != 0 {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	if cfg.Global.VRRPDelayAfterBoot.Std() != 15230*time.Millisecond || !cfg.Global.VRRPOwnerIgnoreAdverts {
		t.Errorf("vrrp_delay_after_boot %v, vrrp_owner_ignore_adverts %v", cfg.Global.VRRPDelayAfterBoot, cfg.Global.VRRPOwnerIgnoreAdverts)
	}
	if cfg.Global.StateDumpFile != "/run/keepalived.data" {
		t.Errorf("state_dump_file: %q", cfg.Global.StateDumpFile)
	}
	if v := cfg.VRRPInstances[0]; !v.OwnerIgnoreAdverts {
		t.Error("owner_ignore_adverts on an owner: off")
	}
	h := cfg.VirtualServers[0].RealServers[0].Checkers[0].HTTP
	if h.SNIName != "sni.example.test" || !h.EnableSNI {
		t.Errorf("sni_name: %+v", h)
	}
	out := dump(ds)
	for _, w := range []string{
		`k24.conf:3:5: warning: "json_dump_file" in global_defs is not supported by lvs-ha (ignored): lvs-ha has no keepalived JSON dump signal`,
		`k24.conf:5:5: warning: "stats_dump_file" in global_defs is not supported`,
		`k24.conf:23:13: warning: "tls_compliant" in SSL_GET is not supported`,
		`k24.conf:26:17: warning: "tls_compliant" in url is not supported`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
	if strings.Contains(out, `"key"`) || strings.Contains(out, `"active_key"`) || strings.Contains(out, `"state_dump_file"`) || strings.Contains(out, `"sni_name"`) {
		t.Errorf("unexpected diagnostics:\n%s", out)
	}
}

func TestKeepalived24KeywordErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"global_defs {\n    state_dump_file\n}\n", `e.conf:2:5: "state_dump_file" needs a value`},
		{"global_defs {\n    state_dump_file \"\"\n}\n", `e.conf:2:5: state_dump_file requires a non-empty path`},
	} {
		_, ds := loadSrc(t, "e.conf", c.src)
		if out := dump(ds); !strings.Contains(out, c.want) {
			t.Errorf("%q: no %q in:\n%s", c.src, c.want, out)
		}
	}
	// sni_name without a name after one with a name: keepalived's warning,
	// the name kept.
	src := strings.Replace(keepalived24Conf, "            tls_compliant\n            url", "            sni_name\n            url", 1)
	cfg, ds := loadSrc(t, "k24.conf", src)
	if out := dump(ds); !strings.Contains(out, `k24.conf:23:13: warning: sni_name already specified as sni.example.test - ignoring setting to default`) {
		t.Errorf("second sni_name:\n%s", out)
	}
	if h := cfg.VirtualServers[0].RealServers[0].Checkers[0].HTTP; h.SNIName != "sni.example.test" {
		t.Errorf("sni_name after a bare sni_name: %q", h.SNIName)
	}
}

func TestOwnerIgnoreAdvertsNeedsOwner(t *testing.T) {
	src := "vrrp_instance VI_1 {\n    interface lo\n    priority 100\n    virtual_router_id 51\n    owner_ignore_adverts\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n"
	cfg, ds := loadSrc(t, "o.conf", src)
	if out := dump(ds); !strings.Contains(out, "o.conf:1:15: warning: vrrp_instance VI_1: ignoring owner_ignore_adverts since priority is not 255") {
		t.Errorf("no warning:\n%s", out)
	}
	if cfg.VRRPInstances[0].OwnerIgnoreAdverts {
		t.Error("owner_ignore_adverts kept on priority 100")
	}
}

func TestNoVirtualIPAddressKeyword(t *testing.T) {
	inst := func(extra string) string {
		return "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n" + extra + "}\n"
	}
	for _, c := range []struct {
		src, want string
		errs      int
	}{
		{inst("    version 3\n"), "no virtual_ipaddress; at least one is required", 1},
		{inst("    version 3\n    no_virtual_ipaddress\n"), "", 0},
		{inst(""), "no virtual_ipaddress; at least one is sensible", 0},
		{inst("    no_virtual_ipaddress\n"), "", 0},
		{inst("    strict_mode\n    no_virtual_ipaddress\n"), "no_virtual_ipaddress and strict mode incompatible, clearing no_virtual_ipaddress", 1},
	} {
		_, ds := loadSrc(t, "n.conf", c.src)
		out := dump(ds)
		if len(errorsOf(ds)) != c.errs || (c.want == "" && strings.Contains(out, "virtual_ipaddress")) || !strings.Contains(out, c.want) {
			t.Errorf("%q: %d errors, want %d; want %q in:\n%s", c.src, len(errorsOf(ds)), c.errs, c.want, out)
		}
	}
}

// TestAuthHMACRefused: keepalived 2.4's auth_hmac is an error at its line,
// with the reason: lvs-ha's unsigned adverts would be dropped by a keepalived
// peer in enforce mode and both would become MASTER.
func TestAuthHMACRefused(t *testing.T) {
	src := strings.Replace(keepalived24Conf, "    owner_ignore_adverts\n", "    owner_ignore_adverts\n    auth_hmac {\n        key 1 0123456789abcdef0123456789abcdef\n        mode enforce\n    }\n", 1)
	_, ds := loadSrc(t, "k24.conf", src)
	errs := errorsOf(ds)
	if len(errs) != 1 || !strings.Contains(dump(ds), `k24.conf:14:5: "auth_hmac" in vrrp_instance is not supported by lvs-ha: lvs-ha cannot sign or check adverts with an HMAC`) {
		t.Errorf("want one located error for auth_hmac:\n%s", dump(ds))
	}
}
