package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens a unixgram socket at name and returns a function reading the
// next datagram.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		// A deadline only guards against a hang; the datagram is already
		// queued when Send returns.
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
}

func TestHelpers(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	recv := listen(t, sock)
	t.Setenv(SocketEnv, sock)

	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"status", func() error { return Status("2 instances MASTER") }, "STATUS=2 instances MASTER"},
		{"status newline", func() error { return Status("a\nb\r\nc") }, "STATUS=a b c"},
		{"notify", func() error { return Notify("READY=1\nSTATUS=ok") }, "READY=1\nSTATUS=ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReloading(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	recv := listen(t, sock)
	t.Setenv(SocketEnv, sock)

	var before unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &before); err != nil {
		t.Fatal(err)
	}
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	got := recv()
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("got %q, want RELOADING=1 and MONOTONIC_USEC=", got)
	}
	usec, err := strconv.ParseUint(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The clock is monotonic: the value cannot precede the one read before.
	if lo := uint64(before.Sec)*1e6 + uint64(before.Nsec)/1e3; usec < lo {
		t.Errorf("MONOTONIC_USEC=%d, before the call's start %d", usec, lo)
	}
}

func TestReloadingState(t *testing.T) {
	if got, want := ReloadingState(1234567), "RELOADING=1\nMONOTONIC_USEC=1234567"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@lvs-ha-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	recv := listen(t, name)
	t.Setenv(SocketEnv, name)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(); got != "READY=1" {
		t.Errorf("got %q, want READY=1", got)
	}
}

func TestUnsetIsNoop(t *testing.T) {
	t.Setenv(SocketEnv, "")
	for _, f := range []func() error{Ready, Reloading, Stopping, func() error { return Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("with %s unset: %v", SocketEnv, err)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		socket string
		is     error
		want   string
	}{
		{socket: "vsock:2:1234", is: ErrUnsupportedSocket, want: "vsock:2:1234"},
		{socket: "relative/path", is: ErrUnsupportedSocket, want: "relative/path"},
		{socket: filepath.Join(t.TempDir(), "absent"), want: "sdnotify:"},
	}
	for _, tt := range tests {
		t.Run(tt.socket, func(t *testing.T) {
			err := Send(tt.socket, StateReady)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
