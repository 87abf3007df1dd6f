package runner

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// TestRunnerTrackFile: a track_file's number times the instance's weight
// moves its priority (and mastership to the peer) within one poll of the file
// changing; reverse negates it; weight 0 makes a nonzero value FAULT; an
// invalid number is ignored; a missing file reads as 0.
func TestRunnerTrackFile(t *testing.T) {
	tests := []struct {
		name     string
		weight   int
		reverse  bool
		value    string
		wantA    vrrp.State
		wantPrio uint8
	}{
		{name: "weight_-30", weight: -30, value: "2\n", wantA: vrrp.StateBackup, wantPrio: 90},
		{name: "weight_30_reverse", weight: 30, reverse: true, value: "2", wantA: vrrp.StateBackup, wantPrio: 90},
		{name: "weight_1_fault", weight: 1, value: "-254", wantA: vrrp.StateFault, wantPrio: 150},
		{name: "weight_0", weight: 0, value: "1", wantA: vrrp.StateFault, wantPrio: 150},
		{name: "weight_10_raises", weight: 10, value: "0x3", wantA: vrrp.StateMaster, wantPrio: 180},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				files := newFakeFiles()
				files.set("/run/track/a", "0\n")
				ia := netModes[0].instance("VI_1", 51, 150, "")
				ia.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "tf", Path: "/run/track/a"}, Weight: tc.weight, Reverse: tc.reverse}}
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{files: files})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5 * time.Second))
				if got := a.inst("VI_1"); got.State != vrrp.StateMaster || got.EffectivePriority != 150 {
					t.Fatalf("A %v prio %d, want MASTER 150", got.State, got.EffectivePriority)
				}

				files.set("/run/track/a", tc.value)
				l.runFor(DefaultFilePoll)
				if got := a.inst("VI_1"); got.EffectivePriority != tc.wantPrio || (tc.wantA == vrrp.StateFault) != (got.State == vrrp.StateFault) {
					t.Fatalf("one poll after writing %q: A %v prio %d, want %v prio %d", tc.value, got.State, got.EffectivePriority, tc.wantA, tc.wantPrio)
				}
				l.runFor(5 * time.Second)
				sa, sb := a.inst("VI_1"), b.inst("VI_1")
				if sa.State != tc.wantA || sa.EffectivePriority != tc.wantPrio {
					t.Fatalf("A %v prio %d, want %v prio %d", sa.State, sa.EffectivePriority, tc.wantA, tc.wantPrio)
				}
				if wantB := vrrp.StateMaster; tc.wantA == vrrp.StateMaster {
					if sb.State != vrrp.StateBackup {
						t.Fatalf("B %v, want BACKUP", sb.State)
					}
				} else if sb.State != wantB {
					t.Fatalf("B %v, want MASTER", sb.State)
				}
				if len(sa.Trackers) != 1 || sa.Trackers[0].Kind != track.KindFile || sa.Trackers[0].Weight != tc.weight {
					t.Errorf("A trackers %+v", sa.Trackers)
				}

				// Garbage is ignored (the value stays); a removed file reads as 0.
				files.set("/run/track/a", "99999999999")
				l.runFor(2 * time.Second)
				if got := a.inst("VI_1"); got.EffectivePriority != tc.wantPrio || got.State != tc.wantA {
					t.Fatalf("after an invalid number: A %v prio %d", got.State, got.EffectivePriority)
				}
				files.remove("/run/track/a")
				l.runFor(5 * time.Second)
				sa, sb = a.inst("VI_1"), b.inst("VI_1")
				if sa.State != vrrp.StateMaster || sa.EffectivePriority != 150 || sb.State != vrrp.StateBackup {
					t.Fatalf("file removed: A %v prio %d, B %v; want A MASTER 150, B BACKUP", sa.State, sa.EffectivePriority, sb.State)
				}
			})
		})
	}
}

// TestRunnerTrackFileInit: init_file creates a missing file with its value
// before the first read (so the instance starts with it), leaves an existing
// one alone unless overwrite, and a failed write is logged, not fatal.
func TestRunnerTrackFileInit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		files := newFakeFiles()
		files.set("/run/track/kept", "1\n")
		files.set("/run/track/over", "7\n")
		files.noDir["/nodir/x"] = true
		ia := netModes[0].instance("VI_1", 51, 150, "")
		ia.TrackFiles = []TrackFile{
			{File: track.FileConfig{Name: "new", Path: "/run/track/new", Init: true, InitValue: -2}, Weight: 5},
			{File: track.FileConfig{Name: "kept", Path: "/run/track/kept", Init: true}, Weight: 3},
			{File: track.FileConfig{Name: "over", Path: "/run/track/over", Init: true, InitValue: 4, Overwrite: true}, Weight: 1},
			{File: track.FileConfig{Name: "nodir", Path: "/nodir/x", Init: true, InitValue: 9}, Weight: 1},
		}
		log := &lockedBuffer{}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{files: files, log: log})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		for path, want := range map[string]string{"/run/track/new": "-2\n", "/run/track/kept": "1\n", "/run/track/over": "4\n"} {
			if got, _ := files.get(path); got != want {
				t.Errorf("%s holds %q, want %q", path, got, want)
			}
		}
		// 150 - 10 + 3 + 4 + 0
		if got := a.inst("VI_1"); got.State != vrrp.StateMaster || got.EffectivePriority != 147 {
			t.Fatalf("A %v prio %d, want MASTER 147", got.State, got.EffectivePriority)
		}
		if !strings.Contains(log.String(), "cannot initialise file") {
			t.Errorf("no log of the failed init_file:\n%s", log.String())
		}
	})
}

// TestRunnerTrackFileReload: a reload keeps a file's state when its
// definition is unchanged, reads a new file at once and drops a removed one.
func TestRunnerTrackFileReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		files := newFakeFiles()
		files.set("/f1", "1")
		files.set("/f2", "2")
		ia := netModes[0].instance("VI_1", 51, 150, "")
		ia.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "f1", Path: "/f1"}, Weight: -10}}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{files: files})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if got := a.inst("VI_1").EffectivePriority; got != 140 {
			t.Fatalf("prio %d, want 140", got)
		}
		ia.TrackFiles = append(ia.TrackFiles, TrackFile{File: track.FileConfig{Name: "f2", Path: "/f2"}, Weight: -1})
		if _, err := a.update([]InstanceConfig{ia}, nil); err != nil {
			t.Fatal(err)
		}
		if got := a.inst("VI_1").EffectivePriority; got != 138 {
			t.Fatalf("after adding f2: prio %d, want 138", got)
		}
		ia.TrackFiles = ia.TrackFiles[1:]
		if _, err := a.update([]InstanceConfig{ia}, nil); err != nil {
			t.Fatal(err)
		}
		files.set("/f2", "3")
		l.runFor(time.Second)
		if got := a.inst("VI_1").EffectivePriority; got != 147 {
			t.Fatalf("after dropping f1 and f2 reading 3: prio %d, want 147", got)
		}
	})
}

func TestTrackFileValidation(t *testing.T) {
	ic := netModes[0].instance("VI_1", 51, 150, "")
	ic.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "f", Path: "/f"}, Weight: 255}}
	if err := Validate([]InstanceConfig{ic}, nil); err == nil {
		t.Error("weight 255 accepted")
	}
	ic.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "f"}}}
	if err := Validate([]InstanceConfig{ic}, nil); err == nil {
		t.Error("track_file without a path accepted")
	}
	ic.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "f", Path: "/f"}, Weight: 1}}
	ic2 := netModes[0].instance("VI_2", 52, 150, "")
	ic2.TrackFiles = []TrackFile{{File: track.FileConfig{Name: "f", Path: "/g"}, Weight: 1}}
	if err := Validate([]InstanceConfig{ic, ic2}, nil); err == nil {
		t.Error("one track_file with two paths accepted")
	}
}

func TestOSFiles(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/v"
	if _, err := (OSFiles{}).ReadFile(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if err := (OSFiles{}).WriteFile(p, []byte("12\n")); err != nil {
		t.Fatal(err)
	}
	b, err := (OSFiles{}).ReadFile(p)
	if err != nil || string(b) != "12\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := (OSFiles{}).WriteFile(dir+"/nodir/v", []byte("1")); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := os.WriteFile(p, []byte(strings.Repeat("1", 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := (OSFiles{}).ReadFile(p); len(b) != 127 {
		t.Errorf("read %d bytes, want keepalived's 127", len(b))
	}
}

// TestRunnerTrackFileInitReload: a file a reload adds with init_file
// overwrite is created if missing but not overwritten (keepalived).
func TestRunnerTrackFileInitReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		files := newFakeFiles()
		files.set("/old", "3\n")
		ia := netModes[0].instance("VI_1", 51, 150, "")
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{files: files})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		ia.TrackFiles = []TrackFile{
			{File: track.FileConfig{Name: "old", Path: "/old", Init: true, InitValue: 9, Overwrite: true}, Weight: 1},
			{File: track.FileConfig{Name: "new", Path: "/new", Init: true, InitValue: 2, Overwrite: true}, Weight: 1},
		}
		if _, err := a.update([]InstanceConfig{ia}, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := files.get("/old"); got != "3\n" {
			t.Errorf("/old holds %q after the reload, want it kept", got)
		}
		if got, _ := files.get("/new"); got != "2\n" {
			t.Errorf("/new holds %q, want created", got)
		}
		if got := a.inst("VI_1").EffectivePriority; got != 155 {
			t.Errorf("prio %d, want 155", got)
		}
	})
}
