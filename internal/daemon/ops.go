package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lvs-ha/lvs-ha/internal/buildinfo"
	"github.com/lvs-ha/lvs-ha/internal/status"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// Dump is the state SIGUSR1 writes: the /status document and the full VRRP
// snapshot (counters, timers, trackers).
type Dump struct {
	Status status.Document `json:"status"`
	VRRP   *runner.Stats   `json:"vrrp,omitempty"`
}

// State returns the current state dump.
func (d *Daemon) State() Dump {
	src := d.metrics.Sources()
	out := Dump{Status: status.Build(src, buildinfo.Version, d.now())}
	if src.VRRP != nil {
		st := src.VRRP.Snapshot()
		out.VRRP = &st
	}
	return out
}

// WriteState writes the state dump as indented JSON to w.
func (d *Daemon) WriteState(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d.State())
}

// DumpState writes the state dump to path, replacing it atomically (a new
// file renamed over the old one, so a symlink at path is replaced, never
// followed).
func (d *Daemon) DumpState(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("state dump: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename: no such file
	if err := d.WriteState(f); err != nil {
		f.Close()
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("state dump: %w", err)
	}
	return nil
}

// dumpSignalled is SIGUSR1. The file is the configuration's
// state_dump_file (keepalived 2.3.4), else Options.DumpFile.
func (d *Daemon) dumpSignalled() {
	path := d.opts.DumpFile
	if path == "" {
		path = DefaultDumpFile
	}
	if p := d.plan.Load(); p != nil && p.cfg.Global.StateDumpFile != "" {
		path = p.cfg.Global.StateDumpFile
	}
	if err := d.DumpState(path); err != nil {
		d.log.Error("state dump failed", "error", err)
		return
	}
	d.log.Info("state dumped", "file", path)
}
