package script

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
)

func TestCheckSecure(t *testing.T) {
	dir := func(p string, perm fs.FileMode, uid, gid uint32) PathElem {
		return PathElem{Path: p, Mode: fs.ModeDir | perm, UID: uid, GID: gid}
	}
	file := func(p string, perm fs.FileMode, uid, gid uint32) PathElem {
		return PathElem{Path: p, Mode: perm, UID: uid, GID: gid}
	}
	link := func(p string, uid uint32) PathElem {
		return PathElem{Path: p, Mode: fs.ModeSymlink | 0o777, UID: uid}
	}
	root := dir("/", 0o755, 0, 0)
	etc := dir("/etc", 0o755, 0, 0)
	tests := []struct {
		name  string
		elems []PathElem
		bad   string // offending component; "" = secure
	}{
		{"secure", []PathElem{root, etc, file("/etc/s.sh", 0o755, 0, 0)}, ""},
		{"group root writable ok", []PathElem{root, etc, file("/etc/s.sh", 0o775, 0, 0)}, ""},
		{"group writable non-root group", []PathElem{root, etc, file("/etc/s.sh", 0o775, 0, 50)}, "/etc/s.sh"},
		{"group non-root not writable ok", []PathElem{root, etc, file("/etc/s.sh", 0o755, 0, 50)}, ""},
		{"world writable file", []PathElem{root, etc, file("/etc/s.sh", 0o757, 0, 0)}, "/etc/s.sh"},
		{"file not root owned", []PathElem{root, etc, file("/etc/s.sh", 0o700, 1000, 0)}, "/etc/s.sh"},
		{"dir not root owned", []PathElem{root, dir("/etc", 0o755, 1000, 0), file("/etc/s.sh", 0o755, 0, 0)}, "/etc"},
		{"world writable dir", []PathElem{root, dir("/tmp", 0o777, 0, 0), file("/tmp/s.sh", 0o755, 0, 0)}, "/tmp"},
		{"sticky world writable dir ok", []PathElem{root, dir("/tmp", fs.ModeSticky|0o777, 0, 0), file("/tmp/s.sh", 0o755, 0, 0)}, ""},
		{"final symlink root owned ok", []PathElem{root, etc, link("/etc/s.sh", 0)}, ""},
		{"final symlink user owned", []PathElem{root, etc, link("/etc/s.sh", 1000)}, "/etc/s.sh"},
		{"intermediate root symlink ok", []PathElem{root, link("/bin", 0), file("/bin/s.sh", 0o755, 0, 0)}, ""},
		{"intermediate file", []PathElem{root, file("/etc", 0o755, 0, 0), file("/etc/s.sh", 0o755, 0, 0)}, "/etc"},
		{"final dir", []PathElem{root, etc}, "/etc"},
		{"final fifo", []PathElem{root, etc, {Path: "/etc/p", Mode: fs.ModeNamedPipe | 0o600}}, "/etc/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSecure(tt.elems[len(tt.elems)-1].Path, tt.elems)
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ie *InsecureError
			if !errors.As(err, &ie) || ie.Elem != tt.bad {
				t.Fatalf("err = %v, want InsecureError at %s", err, tt.bad)
			}
		})
	}
	if err := CheckSecure("/x", nil); err == nil {
		t.Fatal("empty path accepted")
	}
}

func TestNeedsProtection(t *testing.T) {
	plain := PathElem{Mode: 0o755}
	suidRoot := PathElem{Mode: fs.ModeSetuid | 0o755}
	sgidRoot := PathElem{Mode: fs.ModeSetgid | 0o755}
	suidUser := PathElem{Mode: fs.ModeSetuid | 0o755, UID: 1000, GID: 1000}
	tests := []struct {
		uid, gid uint32
		f        PathElem
		want     bool
	}{
		{0, 0, plain, true},
		{1000, 0, plain, true},
		{0, 1000, plain, true},
		{1000, 1000, plain, false},
		{1000, 1000, suidRoot, true},
		{1000, 1000, sgidRoot, true},
		{1000, 1000, suidUser, false},
	}
	for i, tt := range tests {
		if got := NeedsProtection(tt.uid, tt.gid, tt.f); got != tt.want {
			t.Errorf("%d: NeedsProtection = %v, want %v", i, got, tt.want)
		}
	}
}

func TestCheckScriptSecurityFS(t *testing.T) {
	// Files must be root-owned to be secure.
	netns.RequireRoot(t)
	dir := t.TempDir() // under /tmp (sticky), owned by root, 0700
	s := filepath.Join(dir, "s.sh")
	if err := os.WriteFile(s, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckScriptSecurity(s, 0, 0); err != nil {
		if strings.HasPrefix(dir, "/tmp/") {
			t.Fatalf("secure script refused: %v", err)
		}
		t.Skipf("temp dir %s not on a root-only path: %v", dir, err)
	}
	if err := os.Chmod(s, 0o757); err != nil {
		t.Fatal(err)
	}
	var ie *InsecureError
	if err := CheckScriptSecurity(s, 0, 0); !errors.As(err, &ie) {
		t.Fatalf("world-writable script accepted: %v", err)
	}
	// Not run as root: no check.
	if err := CheckScriptSecurity(s, 65534, 65534); err != nil {
		t.Fatalf("unprivileged run checked: %v", err)
	}
	if err := os.Chmod(s, 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink to an insecure target is refused.
	bad := filepath.Join(dir, "bad.sh")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(bad, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	l := filepath.Join(dir, "l.sh")
	if err := os.Symlink(bad, l); err != nil {
		t.Fatal(err)
	}
	if err := CheckScriptSecurity(l, 0, 0); !errors.As(err, &ie) || ie.Script != bad {
		t.Fatalf("symlink to user-owned script: %v", err)
	}
	if err := CheckScriptSecurity(filepath.Join(dir, "missing"), 0, 0); err == nil || errors.As(err, &ie) {
		t.Fatalf("missing script: %v", err)
	}
	if err := CheckScriptSecurity("sh", 0, 0); err != nil {
		t.Fatalf("sh from PATH: %v", err)
	}
}
