package daemon

import (
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// TestVRRPTrackFileTranslation: track_file blocks and entries become the
// runner's TrackFiles with the block's default weight, the entry's own
// weight, init_file, and a sync group's entries on every member (unweighted
// without sync_group_tracking_weight; a member's own unweighted entry stays
// unweighted).
func TestVRRPTrackFileTranslation(t *testing.T) {
	cfg := loadConf(t, `
track_file tf {
    file /run/lvs-ha-test/tf
    weight -3 reverse
    init_file 5 overwrite
}
vrrp_track_file gf {
    file /run/lvs-ha-test/gf
}
vrrp_sync_group G {
    group {
        VI_2
        VI_3
    }
    track_file {
        gf weight 7
    }
}
vrrp_sync_group H {
    group {
        VI_4
    }
    track_file {
        gf weight 7
    }
    sync_group_tracking_weight
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10
    }
    track_file {
        tf
        gf weight 2
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        192.0.2.11
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    virtual_ipaddress {
        192.0.2.12
    }
}
vrrp_instance VI_4 {
    interface eth0
    virtual_router_id 54
    virtual_ipaddress {
        192.0.2.13
    }
    track_file {
        gf weight 0
    }
}
`)
	insts, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tf := track.FileConfig{Name: "tf", Path: "/run/lvs-ha-test/tf", Init: true, InitValue: 5, Overwrite: true}
	gf := track.FileConfig{Name: "gf", Path: "/run/lvs-ha-test/gf"}
	want := map[string][]runner.TrackFile{
		"VI_1": {{File: tf, Weight: -3, Reverse: true}, {File: gf, Weight: 2}},
		"VI_2": {{File: gf, Weight: 0}},
		"VI_3": {{File: gf, Weight: 0}},
		"VI_4": {{File: gf, Weight: 0}},
	}
	for _, ic := range insts {
		w := want[ic.Machine.Name]
		if len(ic.TrackFiles) != len(w) {
			t.Errorf("%s: %+v, want %+v", ic.Machine.Name, ic.TrackFiles, w)
			continue
		}
		for i := range w {
			if ic.TrackFiles[i] != w[i] {
				t.Errorf("%s: %+v, want %+v", ic.Machine.Name, ic.TrackFiles[i], w[i])
			}
		}
	}
	if err := runner.Validate(insts, nil); err != nil {
		t.Errorf("runner refuses the translation: %v", err)
	}
}

// TestVRRPTrackProcessTranslation: vrrp_track_process blocks and
// track_process entries become the runner's TrackProcesses.
func TestVRRPTrackProcessTranslation(t *testing.T) {
	cfg := loadConf(t, `
vrrp_track_process hap {
    process haproxy -f /etc/h.cfg
    param_match initial
    weight -20
    quorum 2
    delay 1.5
}
vrrp_track_process any {
    process nginx
}
vrrp_sync_group G {
    group {
        VI_2
    }
    track_process {
        hap
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10
    }
    track_process {
        hap weight 10 reverse
        any
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        192.0.2.11
    }
}
`)
	insts, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hap := track.ProcessConfig{Name: "hap", Process: "haproxy", Params: []string{"-f", "/etc/h.cfg"}, ParamMatch: track.ParamMatchInitial,
		Quorum: 2, QuorumMax: -1, ForkDelay: 1500 * time.Millisecond, TerminateDelay: 1500 * time.Millisecond}
	anyP := track.ProcessConfig{Name: "any", Process: "nginx", Quorum: 1, QuorumMax: -1}
	want := map[string][]runner.TrackProcess{
		"VI_1": {{Process: hap, Weight: 10, Reverse: true}, {Process: anyP}},
		"VI_2": {{Process: hap, Weight: 0}},
	}
	for _, ic := range insts {
		w := want[ic.Machine.Name]
		if len(ic.TrackProcesses) != len(w) {
			t.Errorf("%s: %+v, want %+v", ic.Machine.Name, ic.TrackProcesses, w)
			continue
		}
		for i := range w {
			g := ic.TrackProcesses[i]
			if !g.Process.Equal(w[i].Process) || g.Weight != w[i].Weight || g.Reverse != w[i].Reverse {
				t.Errorf("%s: %+v, want %+v", ic.Machine.Name, g, w[i])
			}
		}
	}
	if err := runner.Validate(insts, nil); err != nil {
		t.Errorf("runner refuses the translation: %v", err)
	}
}
