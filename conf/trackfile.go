package conf

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// ---- track_file (vrrp_track_file) ------------------------------------------

var trackFileTable *table[*TrackFile]

func init() {
	trackFileTable = newTable("track_file", []keyword[*TrackFile]{
		impl("file", "path of the file holding the number", "", func(l *loader, n *syntax.Node, f *TrackFile) {
			if f.File != "" {
				l.errf(n.Keyword.Pos, "file already set for track_file %s", f.Name)
				return
			}
			if v, ok := l.stringArg(n); ok {
				f.File = v
			}
		}),
		impl("weight", "W [reverse], W in [-254, 254]: the file's number times W is added to the priority (0: a nonzero number means FAULT)", "1", func(l *loader, n *syntax.Node, f *TrackFile) {
			l.weightReverse(n, "track_file", 254, &f.Weight, &f.Reverse)
		}),
		impl("init_file", "[VALUE] [overwrite]: create the file holding VALUE (0) at start if missing, or always with overwrite", "", func(l *loader, n *syntax.Node, f *TrackFile) {
			f.Init, f.InitValue, f.Overwrite, f.initPos = true, 0, false, n.Keyword.Pos
			for _, w := range n.Args {
				if w.Text == "overwrite" {
					f.Overwrite = true
					continue
				}
				v, err := strconv.ParseInt(w.Text, 10, 32)
				if err != nil {
					l.errf(w.Pos, "invalid track_file %s init_file option %q: want a number or overwrite", f.Name, w.Text)
					continue
				}
				if v < -254 || v > 254 {
					l.warnf(w.Pos, "track_file %s init value %d is outside sensible range [-254, 254]", f.Name, v)
				}
				f.InitValue = v
			}
		}),
	})
}

func (l *loader) trackFileBlock(n *syntax.Node, c *Config) {
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	for _, prev := range c.TrackFiles {
		if prev.Name == name.Text {
			l.duplicate("track_file", name, prev.Pos)
			return
		}
	}
	f := &TrackFile{Name: name.Text, Pos: name.Pos, Weight: 1}
	walk(l, trackFileTable, n, f)
	if f.File == "" {
		l.errf(name.Pos, "track_file %q has no file", name.Text)
		return
	}
	if f.Init {
		// keepalived: "Unable to initialise track file"; it runs on with the
		// file missing (read as 0).
		dir := filepath.Dir(f.File)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			l.warnf(f.initPos, "track_file %s: init_file cannot create %s: directory %s does not exist", f.Name, f.File, dir)
		} else if st, err := os.Stat(f.File); err == nil && !st.Mode().IsRegular() {
			l.warnf(f.initPos, "track_file %s: init_file: %s is not a regular file", f.Name, f.File)
		}
	}
	c.TrackFiles = append(c.TrackFiles, f)
}

// trackFileKeywords are the root keywords of track_file blocks.
func trackFileKeywords() []keyword[*Config] {
	old := alias("vrrp_track_file", "track_file", true, (*loader).trackFileBlock)
	old.block = true
	return []keyword[*Config]{
		implBlock("track_file", "a file whose number adjusts the priority of the VRRP instances tracking it: track_file NAME { ... }", "", (*loader).trackFileBlock),
		old,
	}
}

// trackFiles parses a track_file block of a vrrp_instance or sync group.
func (l *loader) trackFiles(n *syntax.Node) []TrackedFile { return l.trackNamed(n, "track_file") }

// trackNamed parses `NAME [weight W [reverse|noreverse]]` lines, W in
// [-254, 254] (track_file, track_process).
func (l *loader) trackNamed(n *syntax.Node, what string) []TrackedFile {
	l.nargs(n, 0, 0)
	var out []TrackedFile
	l.valueLines(n, func(c *syntax.Node) {
		t := TrackedFile{Name: c.Keyword.Text, Pos: c.Keyword.Pos}
		if len(c.Args) > 0 {
			if c.Args[0].Text != "weight" {
				l.errf(c.Args[0].Pos, "unknown option %q for %s %s: want weight", c.Args[0].Text, what, t.Name)
				return
			}
			if len(c.Args) < 2 {
				l.errf(c.Args[0].Pos, "weight without value for %s %s", what, t.Name)
				return
			}
			x, ok := l.int(c.Args[1], what+" weight", -254, 254)
			if !ok {
				return
			}
			t.Weight, t.weightSet = int(x), true
			if len(c.Args) > 2 {
				switch c.Args[2].Text {
				case "reverse":
					t.Reverse = true
				case "noreverse":
				default:
					l.errf(c.Args[2].Pos, "unknown weight option %q for %s %s: want reverse or noreverse", c.Args[2].Text, what, t.Name)
					return
				}
			}
			if len(c.Args) > 3 {
				l.warnf(c.Args[3].Pos, "extra arguments ignored")
			}
		}
		for _, o := range out {
			if o.Name == t.Name {
				l.warnf(c.Keyword.Pos, "duplicate %s %s - ignoring", what, t.Name)
				return
			}
		}
		out = append(out, t)
	})
	return out
}

// resolveTrackFiles checks names and fills the blocks' default weights.
func (l *loader) resolveTrackFiles(owner string, ts []TrackedFile) {
	for i := range ts {
		t := &ts[i]
		var f *TrackFile
		for _, x := range l.cfg.TrackFiles {
			if x.Name == t.Name {
				f = x
			}
		}
		if f == nil {
			l.errf(t.Pos, "%s: track_file %q names no track_file block", owner, t.Name)
			continue
		}
		if !t.weightSet {
			t.Weight, t.Reverse = f.Weight, f.Reverse
		}
	}
}
