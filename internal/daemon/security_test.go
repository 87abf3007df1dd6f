package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// insecureScript is an executable script in a directory anyone can write to,
// and the component enable_script_security names for it.
func insecureScript(t *testing.T) (path, component string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wdir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "s.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		return path, dir + ": writable by others"
	}
	return path, "not root" // the test's own directories are not root's
}

func securitySrc(global, s string) string {
	return `
global_defs {
    script_user root
` + global + `
}
vrrp_script chk {
    script "` + s + `"
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 1
    priority 100
    virtual_ipaddress { 192.0.2.10 }
    track_script { chk }
    notify_master "` + s + ` master"
    notify_backup /bin/true
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    quorum_up "/bin/true up"
    real_server 10.0.0.1 80 {
        notify_up "` + s + ` up"
        MISC_CHECK {
            misc_path "` + s + ` check"
        }
    }
}
`
}

// With enable_script_security a root script in a directory anyone can write
// to is disabled, as keepalived does: the vrrp_script is no longer tracked,
// the notify scripts are not run, the MISC_CHECK is removed. Each one is a
// warning naming the path and the unsafe component; secure scripts are kept.
func TestScriptSecurityDisablesInsecureScripts(t *testing.T) {
	s, component := insecureScript(t)
	p := testPlan(t, securitySrc("    enable_script_security", s))
	in := p.instances[0]
	if len(in.TrackScripts) != 0 {
		t.Errorf("insecure vrrp_script still tracked: %+v", in.TrackScripts)
	}
	if in.Notify.Master != nil {
		t.Errorf("insecure notify_master kept: %+v", in.Notify.Master)
	}
	if in.Notify.Backup == nil {
		t.Error("secure notify_backup /bin/true was disabled")
	}
	rs := p.lvs.vss[0].rss[0]
	if len(rs.checks) != 0 || len(p.checks) != 0 {
		t.Errorf("insecure MISC_CHECK kept: %d checks", len(p.checks))
	}
	if rs.r.NotifyUp != nil {
		t.Errorf("insecure notify_up kept: %+v", rs.r.NotifyUp)
	}
	if p.lvs.vss[0].v.QuorumUp == nil {
		t.Error("secure quorum_up /bin/true was disabled")
	}
	var n int
	for _, w := range p.warnings {
		msg := w.String()
		if strings.Contains(msg, "SECURITY VIOLATION") {
			t.Errorf("SECURITY VIOLATION with enable_script_security: %s", msg)
		}
		if strings.Contains(msg, "Unsafe permissions found for script '"+s+"'") {
			n++
			if !strings.Contains(msg, component) || !strings.HasSuffix(msg, "- disabling") || w.Pos.Line == 0 {
				t.Errorf("warning %q: want the component %q, \"- disabling\" and a location", msg, component)
			}
		}
	}
	if n != 4 { // vrrp_script, notify_master, notify_up, misc_path
		t.Errorf("%d insecure-script warnings, want 4: %v", n, p.warnings)
	}
}

// Without enable_script_security the scripts stay and keepalived's SECURITY
// VIOLATION warning is given, saying there are insecure scripts.
func TestScriptSecurityViolationWarning(t *testing.T) {
	s, _ := insecureScript(t)
	p := testPlan(t, securitySrc("", s))
	if len(p.instances[0].TrackScripts) != 1 || p.instances[0].Notify.Master == nil || len(p.checks) != 1 ||
		p.lvs.vss[0].rss[0].r.NotifyUp == nil {
		t.Fatal("scripts disabled without enable_script_security")
	}
	got := fmt.Sprint(p.warnings)
	if !strings.Contains(got, "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.") {
		t.Errorf("no SECURITY VIOLATION warning: %s", got)
	}
	if strings.Contains(got, "disabling") {
		t.Errorf("scripts reported disabled: %s", got)
	}

	// Only secure scripts: still the violation, without "insecure scripts".
	p = testPlan(t, securitySrc("", "/bin/true"))
	got = fmt.Sprint(p.warnings)
	if !strings.Contains(got, "SECURITY VIOLATION") || strings.Contains(got, "insecure") {
		t.Errorf("warnings for secure scripts: %s", got)
	}
	p = testPlan(t, securitySrc("    enable_script_security", "/bin/true"))
	if len(p.warnings) != 0 || len(p.instances[0].TrackScripts) != 1 || len(p.checks) != 1 {
		t.Errorf("secure scripts with enable_script_security: warnings %v, tracks %d, checks %d",
			p.warnings, len(p.instances[0].TrackScripts), len(p.checks))
	}
}
