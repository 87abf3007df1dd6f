package script

import (
	"reflect"
	"testing"
)

func TestNotifyArgs(t *testing.T) {
	tests := []struct {
		argv  []string
		kind  NotifyKind
		name  string
		state string
		prio  int
		want  []string
	}{
		{[]string{"/n.sh"}, NotifyInstance, "VI_1", StateMaster, 150,
			[]string{"/n.sh", "INSTANCE", "VI_1", "MASTER", "150"}},
		{[]string{"/n.sh", "a b"}, NotifyInstance, "VI_1", "backup", 100,
			[]string{"/n.sh", "a b", "INSTANCE", "VI_1", "BACKUP", "100"}},
		{[]string{"/n.sh"}, NotifyGroup, "G1", StateFault, 99, // groups always report 0
			[]string{"/n.sh", "GROUP", "G1", "FAULT", "0"}},
		{[]string{"/n.sh"}, NotifyInstance, "VI_2", StateStop, 1,
			[]string{"/n.sh", "INSTANCE", "VI_2", "STOP", "1"}},
	}
	for _, tt := range tests {
		in := append([]string(nil), tt.argv...)
		got := NotifyArgs(tt.argv, tt.kind, tt.name, tt.state, tt.prio)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NotifyArgs = %q, want %q", got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.argv) {
			t.Errorf("NotifyArgs modified its input: %q", tt.argv)
		}
	}
	// Appending must not write into the caller's spare capacity.
	base := make([]string, 1, 10)
	base[0] = "/n.sh"
	a := NotifyArgs(base, NotifyInstance, "A", StateMaster, 1)
	b := NotifyArgs(base, NotifyInstance, "B", StateBackup, 2)
	if a[2] != "A" || b[2] != "B" {
		t.Errorf("aliasing: %q %q", a, b)
	}
}
