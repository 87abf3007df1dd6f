package ipvs_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// sampleConnSync is in the kernel's format (ip_vs_conn_sync_seq_show: "%-3s
// %08X %04X %08X %04X %08X %04X %-11s %-6s %7lu", IPv6 with %pI6), with a
// master's local entry, a backup's synced entries and a persistence template.
const sampleConnSync = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED LOCAL      899
TCP 0A000001 8B3D 0A000064 0050 0A000003 1F90 ESTABLISHED SYNC       179
UDP fd00:0000:0000:0000:0000:0000:0000:0001 0035 fd00:0000:0000:0000:0000:0000:0000:0064 0035 0A000003 0035 UDP         SYNC       299
TCP 0A000001 0000 0A000064 0050 0A000002 1F90 NONE        LOCAL      359
`

func TestParseSyncConnections(t *testing.T) {
	got, err := ipvs.ParseSyncConnections(strings.NewReader(sampleConnSync))
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	want := []ipvs.SyncConnection{
		{Protocol: "TCP", Client: ap("10.0.0.1:35644"), Virtual: ap("10.0.0.100:80"), Dest: ap("10.0.0.2:8080"),
			State: "ESTABLISHED", Origin: ipvs.OriginLocal, Expires: 899 * time.Second},
		{Protocol: "TCP", Client: ap("10.0.0.1:35645"), Virtual: ap("10.0.0.100:80"), Dest: ap("10.0.0.3:8080"),
			State: "ESTABLISHED", Origin: ipvs.OriginSync, Expires: 179 * time.Second},
		{Protocol: "UDP", Client: ap("[fd00::1]:53"), Virtual: ap("[fd00::64]:53"), Dest: ap("10.0.0.3:53"),
			State: "UDP", Origin: ipvs.OriginSync, Expires: 299 * time.Second},
		{Protocol: "TCP", Client: ap("10.0.0.1:0"), Virtual: ap("10.0.0.100:80"), Dest: ap("10.0.0.2:8080"),
			State: "NONE", Origin: ipvs.OriginLocal, Expires: 359 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d connections, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("conn %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseSyncConnectionsErrors(t *testing.T) {
	for _, bad := range []string{
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED LOCAL",
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED 899",
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED REMOTE 899",
		"TCP 0A0001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC 1",
		"TCP 0A000001 XXXX 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC 1",
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC -1",
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC 1 extra",
		"TCP fe80::1%eth0 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC 1",
	} {
		if _, err := ipvs.ParseSyncConnections(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestReadSyncConnections(t *testing.T) {
	dir := t.TempDir()
	if _, err := ipvs.ReadSyncConnections(dir); !errors.Is(err, ipvs.ErrNoConnSync) {
		t.Errorf("missing file: err = %v, want ErrNoConnSync", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ipvs.ConnSyncFile), []byte(sampleConnSync), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := ipvs.ReadSyncConnections(dir)
	if err != nil || len(cs) != 4 {
		t.Errorf("ReadSyncConnections = %d entries, %v", len(cs), err)
	}
}

func FuzzParseSyncConnections(f *testing.F) {
	f.Add(sampleConnSync)
	f.Add("TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED SYNC 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ipvs.ParseSyncConnections(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Origin != ipvs.OriginLocal && c.Origin != ipvs.OriginSync {
				t.Fatalf("origin %q accepted", c.Origin)
			}
		}
	})
}
