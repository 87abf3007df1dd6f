package daemon

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-ha/lvs-ha/vrrp"
)

// TestVRRPKeywordTranslation: keywords the runner acts on reach its options.
func TestVRRPKeywordTranslation(t *testing.T) {
	cfg := loadConf(t, `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    unicast_src_ip 192.0.2.1
    unicast_ttl 7
    unicast_peer {
        192.0.2.2 min_ttl 32 max_ttl 128
        192.0.2.3
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
`)
	ics, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ic := ics[0]
	if ic.UnicastTTL != 7 {
		t.Errorf("UnicastTTL %d, want 7", ic.UnicastTTL)
	}
	want := []vrrp.PeerTTL{{Peer: netip.MustParseAddr("192.0.2.2"), Min: 32, Max: 128}}
	if !slices.Equal(ic.Machine.UnicastPeerTTLs, want) || !ic.Machine.CheckUnicastSource {
		t.Errorf("peer TTLs %v check %v, want %v true", ic.Machine.UnicastPeerTTLs, ic.Machine.CheckUnicastSource, want)
	}
}
