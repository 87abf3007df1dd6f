package script

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// PathElem is what CheckSecure needs to know about one component of a script's path,
// as returned by lstat(2) (symbolic links are not followed).
type PathElem struct {
	Path string      // "/", "/usr", "/usr/local", ..., the script itself last
	Mode fs.FileMode // as from os.Lstat
	UID  uint32
	GID  uint32
}

// InsecureError reports why enable_script_security refuses a script.
type InsecureError struct {
	Script string // the path checked
	Elem   string // the offending component
	Reason string
}

func (e *InsecureError) Error() string {
	if e.Elem == e.Script || e.Elem == "" {
		return fmt.Sprintf("script %s: %s", e.Script, e.Reason)
	}
	return fmt.Sprintf("script %s: %s: %s", e.Script, e.Elem, e.Reason)
}

// CheckSecure applies keepalived's check_security rule to the components of one path,
// from "/" down to the script: every component but the last must be a directory, the
// last a regular file or symlink, and no component may be replaceable by a non-root
// user, i.e. each must be owned by root and, if it is a regular file or a directory
// without the sticky bit, must not be writable by a non-root group or by others.
// It returns nil or an *InsecureError.
//
// Deviation: keepalived also rejects a symlink as an intermediate component, which
// refuses e.g. /bin/x on merged-/usr systems. Here a root-owned intermediate symlink is
// accepted; CheckScriptSecurity checks the resolved path as well, so its target is
// covered.
func CheckSecure(script string, elems []PathElem) error {
	if len(elems) == 0 {
		return &InsecureError{Script: script, Reason: "no path components"}
	}
	for i, e := range elems {
		last := i == len(elems)-1
		typ := e.Mode.Type()
		if !last && !e.Mode.IsDir() && typ != fs.ModeSymlink {
			return &InsecureError{Script: script, Elem: e.Path, Reason: "not a directory"}
		}
		if last && !e.Mode.IsRegular() && typ != fs.ModeSymlink {
			return &InsecureError{Script: script, Elem: e.Path, Reason: "not a regular file or symlink"}
		}
		if e.UID != 0 {
			return &InsecureError{Script: script, Elem: e.Path, Reason: fmt.Sprintf("owned by uid %d, not root", e.UID)}
		}
		checkWrite := e.Mode.IsRegular() || (e.Mode.IsDir() && e.Mode&fs.ModeSticky == 0)
		if !checkWrite {
			continue
		}
		perm := e.Mode.Perm()
		if e.GID != 0 && perm&0o020 != 0 {
			return &InsecureError{Script: script, Elem: e.Path, Reason: fmt.Sprintf("writable by group %d", e.GID)}
		}
		if perm&0o002 != 0 {
			return &InsecureError{Script: script, Elem: e.Path, Reason: "writable by others"}
		}
	}
	return nil
}

// NeedsProtection reports whether keepalived would apply the security check to a
// script: when it runs with uid or gid 0, or the file is setuid/setgid root.
func NeedsProtection(uid, gid uint32, file PathElem) bool {
	m := file.Mode
	return uid == 0 || gid == 0 ||
		(file.UID == 0 && m&fs.ModeSetuid != 0 && m.Perm()&0o100 != 0) ||
		(file.GID == 0 && m&fs.ModeSetgid != 0 && m.Perm()&0o010 != 0)
}

// CheckScriptSecurity is the enable_script_security check for a script run with the
// given uid/gid: argv0 is resolved like exec does (PATH search for a bare name), and
// if NeedsProtection holds, both the path as given and, if different, its
// symlink-resolved target are checked with CheckSecure. It returns nil, an
// *InsecureError, or an error saying the script cannot be found.
func CheckScriptSecurity(argv0 string, uid, gid uint32) error {
	if strings.HasPrefix(argv0, "<") {
		return nil // "</file" tests are not executed
	}
	path := argv0
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("script %s: %w", argv0, err)
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("script %s: %w", argv0, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("script %s: %w", argv0, err)
	}
	fileElems, err := lstatPath(real)
	if err != nil {
		return fmt.Errorf("script %s: %w", argv0, err)
	}
	if !NeedsProtection(uid, gid, fileElems[len(fileElems)-1]) {
		return nil
	}
	elems, err := lstatPath(abs)
	if err != nil {
		return fmt.Errorf("script %s: %w", argv0, err)
	}
	if err := CheckSecure(abs, elems); err != nil {
		return err
	}
	if real != abs {
		return CheckSecure(real, fileElems)
	}
	return nil
}

// lstatPath lstats "/" and every prefix of the clean absolute path p.
func lstatPath(p string) ([]PathElem, error) {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return nil, errors.New("path is not absolute")
	}
	prefixes := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			prefixes = append(prefixes, p[:i])
		}
	}
	if p != "/" {
		prefixes = append(prefixes, p)
	}
	elems := make([]PathElem, 0, len(prefixes))
	for _, q := range prefixes {
		fi, err := os.Lstat(q)
		if err != nil {
			return nil, err
		}
		e := PathElem{Path: q, Mode: fi.Mode()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = st.Uid, st.Gid
		}
		elems = append(elems, e)
	}
	return elems, nil
}
