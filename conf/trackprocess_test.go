package conf

import (
	"strings"
	"testing"
	"time"
)

func TestTrackProcessParse(t *testing.T) {
	cfg, ds := loadSrc(t, "t.conf", `vrrp_track_process hap {
    process "/usr/sbin/haproxy" -f "/etc/a b.cfg"
    param_match partial
    weight -20 reverse
    quorum 2
    quorum_max 4
    delay 0.5
    fork_delay 2
}
vrrp_track_process none {
    process sleep
    quorum_max 0
    full_command
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_process {
        hap
        none weight 3 noreverse
    }
}
`)
	if ds.HasErrors() {
		t.Fatal(dump(ds))
	}
	p := cfg.TrackProcesses[0]
	if p.Process != "/usr/sbin/haproxy" || len(p.Params) != 2 || p.Params[1] != "/etc/a b.cfg" || p.ParamMatch != "partial" ||
		p.Weight != -20 || !p.Reverse || p.Quorum != 2 || p.QuorumMax != 4 ||
		p.TerminateDelay.Std() != 500*time.Millisecond || p.ForkDelay.Std() != 2*time.Second {
		t.Errorf("hap %+v", p)
	}
	if n := cfg.TrackProcesses[1]; n.Quorum != 0 || n.QuorumMax != 0 || !n.FullCommand || n.ParamMatch != "" || n.Weight != 0 {
		t.Errorf("none %+v", n)
	}
	v := cfg.VRRPInstances[0].TrackProcesses
	if len(v) != 2 || v[0].Weight != -20 || !v[0].Reverse || v[1].Weight != 3 || v[1].Reverse {
		t.Errorf("VI_1 track_process %+v", v)
	}
}

func TestTrackProcessCheckErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"bad weight", "vrrp_track_process p {\n  process x\n  weight -255\n}\n", `t.conf:3:10: invalid vrrp_track_process weight "-255"`},
		{"no process", "vrrp_track_process p {\n  quorum 2\n}\n", `t.conf:1:20: vrrp_track_process "p" has no process`},
		{"quorum", "vrrp_track_process p {\n  process x\n  quorum 0\n}\n", `t.conf:3:10: invalid quorum "0"`},
		{"quorum above max", "vrrp_track_process p {\n  process x\n  quorum_max 2\n  quorum 3\n}\n", `t.conf:4:10: warning: vrrp_track_process p: quorum is greater than quorum_max - ignoring`},
		{"param_match", "vrrp_track_process p {\n  process x\n  param_match some\n}\n", `t.conf:3:15: invalid param_match type "some"`},
		{"delay", "vrrp_track_process p {\n  process x\n  delay 4000\n}\n", `t.conf:3:9: invalid delay "4000"`},
		{"unknown name", "vrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n  track_process {\n    nope\n  }\n}\n", `t.conf:5:5: vrrp_instance V: track_process "nope" names no vrrp_track_process block`},
		{"instance weight", "vrrp_track_process p {\n  process x\n}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n  track_process {\n    p weight 300\n  }\n}\n", `t.conf:8:14: invalid track_process weight "300"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ds := loadSrc(t, "t.conf", c.src)
			if !strings.Contains(dump(ds), c.want) {
				t.Errorf("want %q in:\n%s", c.want, dump(ds))
			}
		})
	}
}
