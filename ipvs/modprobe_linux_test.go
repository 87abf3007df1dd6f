package ipvs

import (
	"testing"

	"github.com/mdlayher/genetlink"
	"golang.org/x/sys/unix"
)

// TestModprobeOncePerProcess: while the IPVS family stays missing, every
// NewNetlink (the daemon retries every 10 s) asks the kernel for it again
// but runs modprobe only the first time, as keepalived does at start.
func TestModprobeOncePerProcess(t *testing.T) {
	runs, gets := 0, 0
	m := &moduleLoader{run: func() error { runs++; return nil }}
	missing := func() (genetlink.Family, error) { gets++; return genetlink.Family{}, unix.ENOENT }
	for range 3 {
		if _, err := resolveFamily(missing, m); err != unix.ENOENT {
			t.Fatalf("err %v, want ENOENT", err)
		}
	}
	if runs != 1 || gets != 4 {
		t.Errorf("modprobe ran %d times, family asked %d times; want 1 and 4", runs, gets)
	}
	// Once loaded (by modprobe or an administrator), the family is found
	// without another modprobe.
	fam, err := resolveFamily(func() (genetlink.Family, error) { return genetlink.Family{ID: 42}, nil }, m)
	if err != nil || fam.ID != 42 || runs != 1 {
		t.Errorf("family %v, err %v, modprobe runs %d", fam, err, runs)
	}
}

// TestModprobeNotWhenPresent: a family found at once runs no modprobe.
func TestModprobeNotWhenPresent(t *testing.T) {
	runs := 0
	m := &moduleLoader{run: func() error { runs++; return nil }}
	if _, err := resolveFamily(func() (genetlink.Family, error) { return genetlink.Family{ID: 1}, nil }, m); err != nil || runs != 0 {
		t.Errorf("err %v, modprobe runs %d", err, runs)
	}
}
