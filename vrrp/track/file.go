package track

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// FileConfig is one track_file (vrrp_track_file) block: a file holding a
// number that adjusts the priority of the instances tracking it.
type FileConfig struct {
	Name string
	Path string
	// Init (init_file): at start the file is created holding InitValue if
	// it is missing (or rewritten, with Overwrite), as keepalived does.
	Init      bool
	InitValue int64
	Overwrite bool
}

// Validate checks the configuration.
func (c FileConfig) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("track_file: empty name")
	case c.Path == "":
		return fmt.Errorf("track_file %q: no file", c.Name)
	}
	return nil
}

// FileStatus is the status of a tracked file holding value (read at least
// once when known is true; a missing or empty file reads as 0). Its State is
// StateOK while the file holds 0 and StateFail while it holds another number
// (what lvs_ha_vrrp_tracker_state shows); the effect on an instance comes
// from Value and the instance's weight.
func FileStatus(name string, value int64, known bool) Status {
	s := Status{Kind: KindFile, Name: name, Value: value}
	switch {
	case !known:
	case value == 0:
		s.State = StateOK
	default:
		s.State = StateFail
	}
	return s
}

// ParseFileValue reads a tracked file's contents as keepalived does
// (strtol(buf, NULL, 0)): leading blanks, an optional sign, then a decimal,
// 0x hexadecimal or 0 octal number; anything after it is ignored and text
// without digits reads as 0. ok is false for a number outside the range of a
// C int (or 2^31, which keepalived accepts), which keepalived logs and ignores (the previous value stays).
func ParseFileValue(b []byte) (v int64, ok bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := 10
	switch {
	case i+2 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && digitVal(b[i+2]) < 16:
		base, i = 16, i+2
	case i < len(b) && b[i] == '0':
		base = 8
	}
	j := i
	for j < len(b) && digitVal(b[j]) < base {
		j++
	}
	if j == i {
		return 0, true
	}
	u, err := strconv.ParseUint(string(b[i:j]), base, 64)
	if err != nil || u > math.MaxInt32+1 {
		return 0, false
	}
	v = int64(u)
	if neg {
		v = -v
	}
	if v > math.MaxInt32+1 { // keepalived's bound
		return 0, false
	}
	return v, true
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// Weight limits of track_file (keepalived: -254..254).
const (
	MinFileWeight = -254
	MaxFileWeight = 254
)

// faultPrio is keepalived's "status" meaning FAULT for a tracked file.
const faultPrio = -254

// fileEffect is keepalived's status of a tracked file for one tracking
// instance: with weight 0 a nonzero value (with reverse: zero) is FAULT;
// otherwise value*weight (negated by reverse), clamped to -254..253, is
// added to the priority, and -254 is FAULT.
func (s Status) fileEffect() (delta int, fault bool) {
	if s.State == StateInit {
		return 0, false
	}
	if s.Weight == 0 {
		return 0, (s.Value != 0) != s.Reverse
	}
	m := int64(1)
	if s.Reverse {
		m = -1
	}
	p := max(min(s.Value*int64(s.Weight)*m, 253), faultPrio)
	if p == faultPrio {
		return 0, true
	}
	return int(p), false
}
