package ipvs_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

const sampleConn = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED     899
UDP fd00:0000:0000:0000:0000:0000:0000:0001 0035 fd00:0000:0000:0000:0000:0000:0000:0064 0035 0A000003 0035 UDP             299
UDP C0A80001 13C4 C0A80064 13C4 C0A80002 13C4 UDP             179 sip 1234@example
`

func TestParseConnections(t *testing.T) {
	got, err := ipvs.ParseConnections(strings.NewReader(sampleConn))
	if err != nil {
		t.Fatal(err)
	}
	want := []ipvs.Connection{
		{Protocol: "TCP", Client: netip.MustParseAddrPort("10.0.0.1:35644"), Virtual: netip.MustParseAddrPort("10.0.0.100:80"),
			Dest: netip.MustParseAddrPort("10.0.0.2:8080"), State: "ESTABLISHED", Expires: 899 * time.Second},
		{Protocol: "UDP", Client: netip.MustParseAddrPort("[fd00::1]:53"), Virtual: netip.MustParseAddrPort("[fd00::64]:53"),
			Dest: netip.MustParseAddrPort("10.0.0.3:53"), State: "UDP", Expires: 299 * time.Second},
		{Protocol: "UDP", Client: netip.MustParseAddrPort("192.168.0.1:5060"), Virtual: netip.MustParseAddrPort("192.168.0.100:5060"),
			Dest: netip.MustParseAddrPort("192.168.0.2:5060"), State: "UDP", Expires: 179 * time.Second, PEName: "sip", PEData: "1234@example"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d connections, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("conn %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseConnectionsErrors(t *testing.T) {
	for _, bad := range []string{
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED",
		"TCP 0A0001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED 1",
		"TCP 0A000001 XXXX 0A000064 0050 0A000002 1F90 ESTABLISHED 1",
		"TCP 0A000001 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED -1",
		"TCP fe80::1%eth0 8B3C 0A000064 0050 0A000002 1F90 ESTABLISHED 1",
	} {
		if _, err := ipvs.ParseConnections(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func FuzzParseConnections(f *testing.F) {
	f.Add(sampleConn)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ipvs.ParseConnections(strings.NewReader(s))
	})
}
