// Package sdnotify implements the sender side of systemd's sd_notify protocol
// (sd_notify(3)): newline-separated VAR=VALUE assignments sent as one datagram
// to the unix socket named by $NOTIFY_SOCKET. It lets lvs-ha run as a
// Type=notify (or, with systemd ≥ 253, Type=notify-reload) service.
//
// Every function is a no-op returning nil when $NOTIFY_SOCKET is unset, so
// callers need not know whether they run under systemd.
package sdnotify
