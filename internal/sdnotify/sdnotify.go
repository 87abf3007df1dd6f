package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SocketEnv is the environment variable naming the notification socket.
const SocketEnv = "NOTIFY_SOCKET"

// States understood by systemd.
const (
	StateReady     = "READY=1"
	StateReloading = "RELOADING=1"
	StateStopping  = "STOPPING=1"
)

// ErrUnsupportedSocket is returned for a $NOTIFY_SOCKET that is neither a
// filesystem path nor an abstract socket name (e.g. systemd's "vsock:" form).
var ErrUnsupportedSocket = errors.New("sdnotify: unsupported socket address")

// Notify sends state (one or more "VAR=VALUE" lines) to the socket named by
// $NOTIFY_SOCKET; it does nothing when the variable is unset or empty.
func Notify(state string) error {
	return Send(os.Getenv(SocketEnv), state)
}

// Ready tells the service manager that start-up, or a reload, is complete.
func Ready() error { return Notify(StateReady) }

// Reloading tells the service manager that a reload has begun; send Ready
// when it is done. It carries MONOTONIC_USEC, which systemd ≥ 253 requires
// for Type=notify-reload services.
func Reloading() error {
	usec, err := monotonicUsec()
	if err != nil {
		return err
	}
	return Notify(ReloadingState(usec))
}

// Stopping tells the service manager that the service is shutting down.
func Stopping() error { return Notify(StateStopping) }

// Status sets the free-form status line shown by systemctl status.
func Status(msg string) error { return Notify(StatusState(msg)) }

// ReloadingState is the message Reloading sends for a CLOCK_MONOTONIC time
// in microseconds.
func ReloadingState(monotonicUsec uint64) string {
	return StateReloading + "\nMONOTONIC_USEC=" + strconv.FormatUint(monotonicUsec, 10)
}

// StatusState is the STATUS= assignment for msg; line breaks, which would
// end the assignment, become spaces.
func StatusState(msg string) string {
	return "STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
}

// Send sends state to the notification socket socket (a path, or an abstract
// name starting with '@'); it does nothing when socket is empty.
func Send(socket, state string) error {
	if socket == "" {
		return nil
	}
	if socket[0] != '/' && socket[0] != '@' {
		return fmt.Errorf("%w: %s=%q", ErrUnsupportedSocket, SocketEnv, socket)
	}
	// The standard library maps a leading '@' to Linux's abstract namespace.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	n, err := conn.Write([]byte(state))
	if err != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", socket, err)
	}
	if n != len(state) {
		return fmt.Errorf("sdnotify: send to %s: short write (%d of %d bytes)", socket, n, len(state))
	}
	return nil
}

func monotonicUsec() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("sdnotify: clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	return uint64(ts.Sec)*1_000_000 + uint64(ts.Nsec)/1_000, nil
}
