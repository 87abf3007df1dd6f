package rawsys

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Write then Read through a non-blocking pipe; an empty pipe is EAGAIN.
func TestReadWrite(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 8)
	if _, e := Read(uintptr(p[0]), buf); e != unix.EAGAIN {
		t.Fatalf("Read of an empty pipe: %v, want EAGAIN", e)
	}
	if n, e := Write(uintptr(p[1]), []byte("abc")); n != 3 || e != 0 {
		t.Fatalf("Write: %d, %v", n, e)
	}
	if n, e := Read(uintptr(p[0]), buf); n != 3 || e != 0 || string(buf[:n]) != "abc" {
		t.Fatalf("Read: %d, %v, %q", n, e, buf[:n])
	}
}
