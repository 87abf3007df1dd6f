package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
)

// TestKeywordTranslationVRRP: keepalived keywords reach the VRRP runner's
// options (global defaults included).
func TestKeywordTranslationVRRP(t *testing.T) {
	p := testPlan(t, `
global_defs {
    script_user nobody nogroup
    vrrp_garp_lower_prio_delay 7
    vrrp_garp_lower_prio_repeat 3
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    notify_backup "/bin/echo backup"
    virtual_ipaddress {
        192.0.2.1/24
    }
}
vrrp_instance VI_2 {
    interface lo
    virtual_router_id 52
    virtual_ipaddress {
        192.0.2.2/24
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify_backup "/bin/echo group backup"
}`)
	ic := p.instances[0]
	if ic.GARP.LowerPrioDelay != 7*time.Second || ic.GARP.LowerPrioRepeat != 3 {
		t.Errorf("vrrp_garp_lower_prio_delay/repeat: GARP %+v", *ic.GARP)
	}
	if ic.Notify.Backup == nil || !slices.Equal(ic.Notify.Backup.Argv, []string{"/bin/echo", "backup"}) {
		t.Errorf("notify_backup: %+v", ic.Notify.Backup)
	}
	if g := p.groups[0]; g.Notify.Backup == nil || !slices.Equal(g.Notify.Backup.Argv, []string{"/bin/echo", "group", "backup"}) {
		t.Errorf("sync group notify_backup: %+v", g.Notify.Backup)
	}
	if p.lvs.user != "nobody" || p.lvs.group != "nogroup" {
		t.Errorf("script_user: %q %q", p.lvs.user, p.lvs.group)
	}
}

// TestKeywordTranslationLVS: keepalived keywords reach IPVS and the
// checkers' options.
func TestKeywordTranslationLVS(t *testing.T) {
	p := testPlan(t, strings.ReplaceAll(`
SSL {
    certificate CERT
    key CERT
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    lvs_sched sh
    flag-2
    sorry_server 10.0.0.9 80
    sorry_server_lvs_method DR
    real_server 10.0.0.1 80 {
        SSL_GET {
            bind_if lo
            bind_port 4001
            url {
                path /
            }
        }
        TCP_CHECK {
            bind_if lo
            bind_port 4002
        }
        SMTP_CHECK {
            host {
                connect_ip 10.0.0.5
                bind_if lo
                bind_port 4003
            }
        }
        DNS_CHECK {
            connect_port 53
            name example.com
            bind_if lo
            bind_port 4004
        }
        UDP_CHECK {
            bind_if lo
            bind_port 4005
        }
        PING_CHECK {
            bind_if lo
            bind_port 4006
        }
    }
}`, "CERT", selfSigned(t)))
	if s := p.desired.Services[0]; s.Flags&ipvs.FlagSched2 == 0 {
		t.Errorf("flag-2: service flags %v", s.Flags)
	}
	if vs := p.lvs.vss[0]; vs.sorry == nil || vs.sorry.Method != ipvs.DR {
		t.Errorf("sorry_server_lvs_method DR: %+v", vs.sorry)
	}
	for i, c := range p.checks {
		def := c.Checker.(healthcheck.Definer).Definition()
		v := reflect.ValueOf(def)
		if got := v.FieldByName("BindIf").String(); got != "lo" {
			t.Errorf("%s: bind_if %q", c.ID, got)
		}
		if got := v.FieldByName("BindPort").Uint(); got != uint64(4001+i) {
			t.Errorf("%s: bind_port %d, want %d", c.ID, got, 4001+i)
		}
		if i == 0 {
			o := def.(healthcheck.HTTPOptions)
			if !o.SSL || o.CertFile == "" || o.KeyFile != o.CertFile {
				t.Errorf("SSL_GET with SSL certificate: SSL %v cert %q", o.SSL, o.CertFile)
			}
		}
	}
}

// selfSigned writes a certificate and its key in one PEM file.
func selfSigned(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	p := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeywordTranslationMinGarp: vrrp_min_garp sends one gratuitous ARP
// after becoming MASTER, with no second burst.
func TestKeywordTranslationMinGarp(t *testing.T) {
	p := testPlan(t, `
global_defs {
    vrrp_min_garp
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.1/24
    }
}`)
	if g := p.instances[0].GARP; g.MasterRepeat != 1 || g.MasterDelay != 0 || g.MasterRefreshRepeat != 0 {
		t.Errorf("vrrp_min_garp: GARP %+v", *g)
	}
}

// TestKeywordTranslationVRRPOptions: global defaults, authentication,
// address families and vrrp_script users reach the VRRP runner.
func TestKeywordTranslationVRRPOptions(t *testing.T) {
	p := testPlan(t, `
global_defs {
    vrrp_mcast_group4 224.0.0.19
    vrrp_down_timer_adverts 5
    vrrp_check_unicast_src
}
vrrp_script S {
    script /bin/true
    user nobody
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    authentication {
        auth_type PASS
        auth_pass secret
    }
    track_script {
        S
    }
    unicast_peer {
        192.0.2.9
    }
    virtual_ipaddress {
        192.0.2.1/24
    }
}
vrrp_instance VI_6 {
    interface lo
    virtual_router_id 52
    native_ipv6
    mcast_dst_ip ff02::13
    virtual_ipaddress {
        2001:db8::1
    }
}
vrrp_instance VI_3 {
    interface lo
    virtual_router_id 53
    virtual_ipaddress {
        192.0.2.3/24
    }
}`)
	v4, v6, mc := p.instances[0], p.instances[1], p.instances[2]
	if m := v4.Machine; m.AuthType != vrrp.AuthPass || m.AuthPass != "secret" {
		t.Errorf("auth_type/auth_pass: %v %q", m.AuthType, m.AuthPass)
	}
	if !v4.Machine.CheckUnicastSource {
		t.Errorf("vrrp_check_unicast_src: not set")
	}
	if v4.Machine.DownTimerAdverts != 5 {
		t.Errorf("vrrp_down_timer_adverts: %d", v4.Machine.DownTimerAdverts)
	}
	if c := v4.TrackScripts[0].Command; c.User != "nobody" {
		t.Errorf("vrrp_script user: %+v", c)
	}
	if v6.Machine.Family != vrrp.FamilyIPv6 || v6.McastGroup.String() != "ff02::13" {
		t.Errorf("native_ipv6/mcast_dst_ip: %v %v", v6.Machine.Family, v6.McastGroup)
	}
	if mc.McastGroup.String() != "224.0.0.19" {
		t.Errorf("vrrp_mcast_group4: %v", mc.McastGroup)
	}
}

// TestKeywordTranslationIPVSFlags: scheduler flags and ip_family reach the
// IPVS services, the SSL key the checkers.
func TestKeywordTranslationIPVSFlags(t *testing.T) {
	p := testPlan(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    lvs_sched sh
    flag-1
    flag-3
    real_server 10.0.0.1 80 {
    }
}
virtual_server fwmark 7 {
    ip_family inet6
    real_server 2001:db8::7 80 {
    }
}`)
	if f := p.desired.Services[0].Flags; f&ipvs.FlagSched1 == 0 || f&ipvs.FlagSched3 == 0 {
		t.Errorf("flag-1/flag-3: %v", f)
	}
	if fam := p.desired.Services[1].Key.Family; fam != ipvs.FamilyIPv6 {
		t.Errorf("ip_family inet6: %v", fam)
	}
}

// TestKeywordTranslationCheckers: each checker's own keywords reach its
// options.
func TestKeywordTranslationCheckers(t *testing.T) {
	p := testPlan(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
        HTTP_GET {
            http_protocol 1.1
            fwmark 9
            url {
                path /
            }
        }
        DNS_CHECK {
            connect_port 53
            type MX
            name example.org
        }
        UDP_CHECK {
            payload 0102
            require_reply 01
            min_reply_length 2
            max_reply_length 9
        }
        MISC_CHECK {
            misc_path /bin/true
            misc_timeout 4
            misc_dynamic
            user nobody
        }
        SMTP_CHECK {
            helo_name probe.example
        }
    }
}`)
	def := func(i int) any { return p.checks[i].Checker.(healthcheck.Definer).Definition() }
	if o := def(0).(healthcheck.HTTPOptions); o.Protocol != "1.1" || o.Fwmark != 9 {
		t.Errorf("http_protocol/fwmark: %q %d", o.Protocol, o.Fwmark)
	}
	if o := def(1).(healthcheck.DNSOptions); o.Type != "MX" || o.Name != "example.org" {
		t.Errorf("DNS type/name: %q %q", o.Type, o.Name)
	}
	if o := def(2).(healthcheck.UDPOptions); !slices.Equal(o.Payload, []byte{1, 2}) || !o.RequireReply || o.ReplyPattern == nil ||
		o.MinReplyLength != 2 || o.MaxReplyLength != 9 {
		t.Errorf("UDP options: %+v", o)
	}
	if o := def(3).(healthcheck.MiscOptions); o.Timeout != 4*time.Second || !o.Dynamic || o.User != "nobody" {
		t.Errorf("MISC options: %+v", o)
	}
	if o := def(4).(healthcheck.SMTPOptions); o.HeloName != "probe.example" {
		t.Errorf("helo_name: %q", o.HeloName)
	}
}
