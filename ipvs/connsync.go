package ipvs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Origin is where a connection entry came from, as /proc/net/ip_vs_conn_sync
// prints it: scheduled by this director, or received from a master sync
// daemon (IP_VS_CONN_F_SYNC).
type Origin string

const (
	OriginLocal Origin = "LOCAL"
	OriginSync  Origin = "SYNC"
)

// SyncConnection is one entry of /proc/net/ip_vs_conn_sync: a connection
// with its origin. Templates (persistence) are listed too, with State "NONE".
type SyncConnection struct {
	Protocol string // "TCP", "UDP", "SCTP", "IP"
	Client   netip.AddrPort
	Virtual  netip.AddrPort
	Dest     netip.AddrPort
	State    string // e.g. "ESTABLISHED", "FIN_WAIT", "UDP", "NONE"
	Origin   Origin
	Expires  time.Duration
}

// ConnSyncFile is the kernel's connection table with origins, relative to a
// /proc/net directory.
const ConnSyncFile = "ip_vs_conn_sync"

// ErrNoConnSync is returned by ReadSyncConnections when the file does not
// exist: ip_vs is not loaded in the running kernel.
var ErrNoConnSync = errors.New("ipvs: no " + ConnSyncFile + " (ip_vs not loaded)")

// ParseSyncConnections parses the kernel's /proc/net/ip_vs_conn_sync
// (ip_vs_conn_sync_seq_show in net/netfilter/ipvs/ip_vs_conn.c):
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
//	TCP 0A000001 8B3C 0A000064 0050 0A000002 0050 ESTABLISHED LOCAL      899
//	TCP fd00:0000:0000:0000:0000:0000:0000:0001 8B3C ... 0050 SYN_RECV    SYNC        59
//
// Addresses and ports are as in /proc/net/ip_vs_conn (see
// [ParseConnections]); Origin is LOCAL or SYNC; Expires is in seconds.
func ParseSyncConnections(r io.Reader) ([]SyncConnection, error) {
	return parseConnTable(r, ConnSyncFile, parseSyncConnLine)
}

func parseSyncConnLine(s string) (SyncConnection, error) {
	f := strings.Fields(s)
	if len(f) != 10 {
		return SyncConnection{}, fmt.Errorf("%d fields, want 10", len(f))
	}
	origin := Origin(f[8])
	if origin != OriginLocal && origin != OriginSync {
		return SyncConnection{}, fmt.Errorf("bad origin %q", f[8])
	}
	proto, a, state, exp, err := parseConnFields(f, 9)
	if err != nil {
		return SyncConnection{}, err
	}
	return SyncConnection{Protocol: proto, Client: a[0], Virtual: a[1], Dest: a[2], State: state, Origin: origin, Expires: exp}, nil
}

// ReadSyncConnections reads and parses the ip_vs_conn_sync file of the
// /proc/net directory procNet ("" means /proc/net, the process's network
// namespace; /proc/PID/net reads PID's). A missing file is ErrNoConnSync.
func ReadSyncConnections(procNet string) ([]SyncConnection, error) {
	if procNet == "" {
		procNet = "/proc/net"
	}
	f, err := os.Open(filepath.Join(procNet, ConnSyncFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoConnSync
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: %w", err)
	}
	defer f.Close()
	return ParseSyncConnections(f)
}
