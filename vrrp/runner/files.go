package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// DefaultFilePoll is how often tracked files are read when Options.FilePoll
// is zero. keepalived reacts to inotify events at once; a file written by a
// tool is seen here within this delay.
const DefaultFilePoll = 500 * time.Millisecond

// FileSystem reads tracked files and creates them for init_file.
type FileSystem interface {
	// ReadFile returns the file's first bytes (keepalived reads 127); a
	// missing file is an error wrapping fs.ErrNotExist.
	ReadFile(path string) ([]byte, error)
	// WriteFile creates or truncates the file with data.
	WriteFile(path string, data []byte) error
}

// OSFiles is the FileSystem of the host.
type OSFiles struct{}

var _ FileSystem = OSFiles{}

// ReadFile reads at most 127 bytes, as keepalived does.
func (OSFiles) ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, err := f.Read(buf)
	if n == 0 && err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// WriteFile writes data, mode 0644, through a temporary file renamed into
// place so that a reader never sees it half written.
func (OSFiles) WriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lvs-ha-track-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// fileState is a tracked file's last value, owned by the loop.
type fileState struct {
	cfg   track.FileConfig
	value int64
	known bool   // read at least once
	bad   string // contents last logged as an invalid number
}

type instFile struct {
	f       *fileState
	weight  int
	reverse bool
}

func (f *fileState) status() track.Status {
	return track.FileStatus(f.cfg.Name, f.value, f.known)
}

// initFiles carries out init_file for files and reads them a first time.
// On a reload an existing file is never overwritten (keepalived).
func (r *Runner) initFiles(files []*fileState, reload bool) {
	for _, f := range files {
		c := f.cfg
		if !c.Init {
			continue
		}
		if !c.Overwrite || reload {
			if _, err := r.opts.Files.ReadFile(c.Path); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if err := r.opts.Files.WriteFile(c.Path, []byte(strconv.FormatInt(c.InitValue, 10)+"\n")); err != nil {
			r.log.Warn("track_file: cannot initialise file", "track_file", c.Name, "file", c.Path, "err", err)
		}
	}
	for _, f := range files {
		r.readFile(f)
	}
}

// readFile reads f and reports whether its value changed. A missing or
// unreadable file reads as 0 and a number out of range is ignored, as in
// keepalived.
func (r *Runner) readFile(f *fileState) bool {
	var v int64
	b, err := r.opts.Files.ReadFile(f.cfg.Path)
	if err == nil {
		var ok bool
		if v, ok = track.ParseFileValue(b); !ok {
			if f.bad != string(b) {
				f.bad = string(b)
				r.log.Info("track_file: invalid number - ignoring", "track_file", f.cfg.Name, "file", f.cfg.Path, "contents", f.bad)
			}
			if f.known {
				return false
			}
			v = 0
		} else {
			f.bad = ""
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.log.Debug("track_file: cannot read file", "track_file", f.cfg.Name, "file", f.cfg.Path, "err", err)
	}
	if f.known && v == f.value {
		return false
	}
	f.value, f.known = v, true
	return true
}

// pollFiles reads every tracked file and tells the instances tracking a
// file whose value changed.
func (r *Runner) pollFiles() {
	r.nextFilePoll = r.now.Add(r.opts.FilePoll)
	for _, f := range r.files {
		if !r.readFile(f) {
			continue
		}
		r.log.Info("track_file value changed", "track_file", f.cfg.Name, "file", f.cfg.Path, "value", f.value)
		reason := fmt.Sprintf("track_file %s value %d", f.cfg.Name, f.value)
		for _, in := range r.insts {
			for _, x := range in.files {
				if x.f == f {
					r.updateTrackers(in, reason)
					break
				}
			}
		}
	}
}
