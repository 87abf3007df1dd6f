package conf

import (
	"strings"
	"testing"
)

func TestTrackFileParse(t *testing.T) {
	dir := t.TempDir()
	src := `track_file tf {
    file ` + dir + `/v
    weight -3 reverse
    init_file 5 overwrite
}
vrrp_track_file old {
    file ` + dir + `/old
}
vrrp_sync_group G {
    group {
        VI_2
    }
    track_file {
        old weight 4
    }
    sync_group_tracking_weight
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_file {
        tf
        old weight 0
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    track_file {
        tf weight 2 noreverse
    }
}
`
	cfg, ds := loadSrc(t, "t.conf", src)
	if ds.HasErrors() {
		t.Fatal(dump(ds))
	}
	if !strings.Contains(dump(ds), `t.conf:6:1: warning: "vrrp_track_file" is deprecated; use "track_file"`) {
		t.Errorf("no deprecation warning:\n%s", dump(ds))
	}
	if len(cfg.TrackFiles) != 2 {
		t.Fatalf("track files %+v", cfg.TrackFiles)
	}
	f := cfg.TrackFiles[0]
	if f.Name != "tf" || f.File != dir+"/v" || f.Weight != -3 || !f.Reverse || !f.Init || f.InitValue != 5 || !f.Overwrite {
		t.Errorf("tf %+v", f)
	}
	if o := cfg.TrackFiles[1]; o.Weight != 1 || o.Init {
		t.Errorf("old %+v", o)
	}
	v1 := cfg.VRRPInstances[0].TrackFiles
	if len(v1) != 2 || v1[0].Weight != -3 || !v1[0].Reverse || v1[1].Weight != 0 {
		t.Errorf("VI_1 track_file %+v", v1)
	}
	v2 := cfg.VRRPInstances[1].TrackFiles
	if len(v2) != 1 || v2[0].Weight != 2 || v2[0].Reverse {
		t.Errorf("VI_2 track_file %+v", v2)
	}
	if g := cfg.SyncGroups[0].TrackFiles; len(g) != 1 || g[0].Weight != 4 {
		t.Errorf("G track_file %+v", g)
	}
}

// TestTrackFileCheckErrors: check-config's located diagnostics for track_file.
func TestTrackFileCheckErrors(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"bad weight", "track_file f {\n  file /tmp/x\n  weight 300\n}\n", `t.conf:3:10: invalid track_file weight "300"`},
		{"bad weight option", "track_file f {\n  file /tmp/x\n  weight 3 rev\n}\n", `t.conf:3:12: unknown track_file weight option "rev"`},
		{"no file", "track_file f {\n  weight 3\n}\n", `t.conf:1:12: track_file "f" has no file`},
		{"init dir", "track_file f {\n  file /nonexistent-lvs-ha/x\n  init_file\n}\n", `t.conf:3:3: warning: track_file f: init_file cannot create /nonexistent-lvs-ha/x: directory /nonexistent-lvs-ha does not exist`},
		{"init value", "track_file f {\n  file /tmp/x\n  init_file abc\n}\n", `t.conf:3:13: invalid track_file f init_file option "abc"`},
		{"duplicate", "track_file f {\n  file /tmp/x\n}\ntrack_file f {\n  file /tmp/y\n}\n", `t.conf:4:12: duplicate track_file "f"`},
		{"unknown name", "vrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n  track_file {\n    nope\n  }\n}\n", `t.conf:5:5: vrrp_instance V: track_file "nope" names no track_file block`},
		{"instance weight", "track_file f {\n  file /tmp/x\n}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n  track_file {\n    f weight 255\n  }\n}\n", `t.conf:8:14: invalid track_file weight "255"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ds := loadSrc(t, "t.conf", c.src)
			if !strings.Contains(dump(ds), c.want) {
				t.Errorf("want %q in:\n%s", c.want, dump(ds))
			}
		})
	}
}
