package track

import (
	"strings"
	"testing"
)

func TestInterfaceTracker(t *testing.T) {
	up := func(idx int, name string) LinkEvent { return LinkEvent{Index: idx, Name: name, Up: true} }
	down := func(idx int, name string) LinkEvent { return LinkEvent{Index: idx, Name: name} }
	del := func(idx int, name string) LinkEvent { return LinkEvent{Index: idx, Name: name, Deleted: true} }
	tests := []struct {
		name   string
		sync   []LinkEvent // applied first when non-nil
		events []LinkEvent
		want   string // state after sync (if any) and after each event
	}{
		{"up", nil, []LinkEvent{up(3, "eth1")}, "O"},
		{"down then up", nil, []LinkEvent{down(3, "eth1"), up(3, "eth1")}, "FO"},
		{"other links ignored", nil, []LinkEvent{up(3, "eth1"), down(4, "eth2"), del(5, "eth3")}, "OOO"},
		{"deleted", nil, []LinkEvent{up(3, "eth1"), del(3, "eth1")}, "OF"},
		{"stale delete of old index ignored", nil, []LinkEvent{up(7, "eth1"), del(3, "eth1")}, "OO"},
		{"recreated", nil, []LinkEvent{up(3, "eth1"), del(3, "eth1"), up(9, "eth1")}, "OFO"},
		{"renamed away", nil, []LinkEvent{up(3, "eth1"), up(3, "lan0")}, "OF"},
		{"renamed to", nil, []LinkEvent{up(4, "tmp"), up(4, "eth1")}, "IO"},
		{"sync present up", []LinkEvent{up(1, "lo"), up(3, "eth1")}, []LinkEvent{down(3, "eth1")}, "OF"},
		{"sync present down", []LinkEvent{down(3, "eth1")}, nil, "F"},
		{"sync absent", []LinkEvent{up(1, "lo")}, []LinkEvent{up(8, "eth1")}, "FO"},
		{"sync empty", []LinkEvent{}, nil, "F"},
	}
	letter := map[State]byte{StateInit: 'I', StateOK: 'O', StateFail: 'F'}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewInterfaceTracker(InterfaceConfig{Name: "eth1", Weight: -20})
			if err != nil {
				t.Fatal(err)
			}
			if tr.State() != StateInit {
				t.Fatalf("initial state %v", tr.State())
			}
			var got []byte
			check := func(changed bool, before State) {
				if changed != (tr.State() != before) {
					t.Fatalf("changed=%v but %v -> %v", changed, before, tr.State())
				}
				got = append(got, letter[tr.State()])
			}
			if tt.sync != nil {
				before := tr.State()
				check(tr.Sync(tt.sync), before)
			}
			for _, ev := range tt.events {
				before := tr.State()
				check(tr.Apply(ev), before)
			}
			if string(got) != tt.want {
				t.Fatalf("states %s, want %s", got, tt.want)
			}
		})
	}
}

func TestInterfaceTrackerEffective(t *testing.T) {
	mk := func(w int, rev bool) *InterfaceTracker {
		tr, err := NewInterfaceTracker(InterfaceConfig{Name: "eth1", Weight: w, Reverse: rev})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tests := []struct {
		w     int
		rev   bool
		up    bool
		prio  int
		fault bool
	}{
		{0, false, true, 100, false},
		{0, false, false, 100, true},
		{0, true, true, 100, true},
		{0, true, false, 100, false},
		{-30, false, false, 70, false},
		{-30, false, true, 100, false},
		{30, false, true, 130, false},
		{30, false, false, 100, false},
		{30, true, true, 70, false},
		{-30, true, false, 130, false},
	}
	for _, tt := range tests {
		tr := mk(tt.w, tt.rev)
		tr.Apply(LinkEvent{Index: 2, Name: "eth1", Up: tt.up})
		prio, fault := Effective(100, tr.Status())
		if prio != tt.prio || fault != tt.fault {
			t.Errorf("weight %d reverse %v up %v: %d %v, want %d %v", tt.w, tt.rev, tt.up, prio, fault, tt.prio, tt.fault)
		}
		if tr.Status().Kind != KindInterface || tr.Index() != 2 || tr.Config().Weight != tt.w {
			t.Errorf("status %v index %d", tr.Status(), tr.Index())
		}
	}
}

func TestInterfaceConfigValidation(t *testing.T) {
	for _, c := range []InterfaceConfig{
		{Name: ""},
		{Name: "a-name-that-is-too-long"},
		{Name: "eth0", Weight: 254},
		{Name: "eth0", Weight: -300},
	} {
		_, err := NewInterfaceTracker(c)
		if err == nil || (c.Name != "" && !strings.Contains(err.Error(), c.Name)) {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
}
