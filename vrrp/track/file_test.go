package track

import "testing"

func TestParseFileValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"0\n", 0, true}, {"5\n", 5, true}, {"  -12 junk", -12, true},
		{"+7", 7, true}, {"0x10", 16, true}, {"010", 8, true}, {"abc", 0, true},
		{"0x", 0, true}, {"2147483647", 2147483647, true}, {"-2147483648", -2147483648, true},
		{"2147483648", 2147483648, true}, {"2147483649", 0, false}, {"99999999999999999999999", 0, false},
	} {
		got, ok := ParseFileValue([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseFileValue(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestFileEffect follows keepalived's update_track_file_status: value*weight
// (negated by reverse) clamped to -254..253 is added, -254 is FAULT, and with
// weight 0 a nonzero value (reverse: zero) is FAULT.
func TestFileEffect(t *testing.T) {
	for _, c := range []struct {
		value   int64
		weight  int
		reverse bool
		prio    int
		fault   bool
	}{
		{0, 10, false, 100, false},
		{3, 10, false, 130, false},
		{-2, 10, false, 80, false},
		{3, 10, true, 70, false},
		{3, -10, false, 70, false},
		{1000, 1, false, 254, false}, // clamped to 253, then to the priority range
		{-300, 1, false, 100, true},  // <= -254: FAULT
		{-254, 1, false, 100, true},
		{-253, 1, false, 1, false},
		{0, 0, false, 100, false},
		{7, 0, false, 100, true},
		{0, 0, true, 100, true},
		{7, 0, true, 100, false},
	} {
		s := FileStatus("f", c.value, true)
		s = s.WithWeight(c.weight, c.reverse)
		prio, fault := Effective(100, s)
		if prio != c.prio || fault != c.fault {
			t.Errorf("value %d weight %d reverse %v: prio %d fault %v; want %d %v", c.value, c.weight, c.reverse, prio, fault, c.prio, c.fault)
		}
	}
	if FileStatus("f", 0, true).State != StateOK || FileStatus("f", -3, true).State != StateFail || FileStatus("f", 0, false).State != StateInit {
		t.Error("file states: want ok for 0, fail for another number, init before the first read")
	}
	// Not read yet: no effect. Owner: FAULT applies, weights do not.
	if p, f := Effective(100, FileStatus("f", 9, false).WithWeight(0, false)); p != 100 || f {
		t.Errorf("unknown file: %d %v", p, f)
	}
	if p, f := Effective(255, FileStatus("f", 9, true).WithWeight(5, false)); p != 255 || f {
		t.Errorf("owner: %d %v", p, f)
	}
	if p, f := Effective(255, FileStatus("f", 9, true).WithWeight(0, false)); p != 255 || !f {
		t.Errorf("owner weight 0: %d %v", p, f)
	}
}
