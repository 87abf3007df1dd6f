package daemon

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// TestVRRPKeywordTranslation: keywords the runner acts on reach its options.
func TestVRRPKeywordTranslation(t *testing.T) {
	cfg := loadConf(t, `
global_defs {
    vrrp_startup_delay 2.5
    log_unknown_vrids
    dynamic_interfaces
    max_auto_priority 5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    unicast_src_ip 192.0.2.1
    unicast_ttl 7
    track_src_ip
    promote_secondaries
    notify_deleted "/bin/echo deleted"
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
	var ro runner.Options
	vrrpGlobals(cfg.Global, &ro)
	if ro.StartupDelay != 2500*time.Millisecond {
		t.Errorf("StartupDelay %v, want 2.5s", ro.StartupDelay)
	}
	if ro.MaxAutoPriority != 5 {
		t.Errorf("MaxAutoPriority %d, want 5", ro.MaxAutoPriority)
	}
	if !ro.LogUnknownVRIDs || !ro.DynamicInterfaces {
		t.Errorf("LogUnknownVRIDs %v DynamicInterfaces %v, want both", ro.LogUnknownVRIDs, ro.DynamicInterfaces)
	}
	ic := ics[0]
	if !ic.TrackSrcIP || !ic.PromoteSecondaries {
		t.Errorf("TrackSrcIP %v PromoteSecondaries %v, want both", ic.TrackSrcIP, ic.PromoteSecondaries)
	}
	if ic.UnicastTTL != 7 {
		t.Errorf("UnicastTTL %d, want 7", ic.UnicastTTL)
	}
	if d := ic.Notify.Deleted; !ic.NotifyDeleted || d == nil || !slices.Equal(d.Argv, []string{"/bin/echo", "deleted"}) {
		t.Errorf("NotifyDeleted %v, script %+v", ic.NotifyDeleted, d)
	}
	want := []vrrp.PeerTTL{{Peer: netip.MustParseAddr("192.0.2.2"), Min: 32, Max: 128}}
	if !slices.Equal(ic.Machine.UnicastPeerTTLs, want) || !ic.Machine.CheckUnicastSource {
		t.Errorf("peer TTLs %v check %v, want %v true", ic.Machine.UnicastPeerTTLs, ic.Machine.CheckUnicastSource, want)
	}
}

// TestVRRPUnicastFaultNoPeer: unicast_fault_no_peer without peers makes the
// instance's machine a configuration fault (FAULT, not multicast).
func TestVRRPUnicastFaultNoPeer(t *testing.T) {
	cfg := loadConf(t, `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    unicast_fault_no_peer
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    unicast_fault_no_peer
    unicast_peer {
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.101
    }
}
`)
	ics, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ics[0].Machine.ConfigFault == "" {
		t.Error("VI_1 without peers: no ConfigFault")
	}
	if ics[1].Machine.ConfigFault != "" {
		t.Errorf("VI_2 with a peer: ConfigFault %q", ics[1].Machine.ConfigFault)
	}
}

// TestVRRPProcessSettings: vrrp_priority, vrrp_rt_priority and vrrp_no_swap
// reach the runner (set on the model: conf parses them once their status
// is flipped from ignored).
func TestVRRPProcessSettings(t *testing.T) {
	var ro runner.Options
	vrrpGlobals(conf.GlobalDefs{VRRPPriority: -5, VRRPRTPriority: 10, VRRPNoSwap: true}, &ro)
	if ro.Nice != -5 || ro.RTPriority != 10 || !ro.NoSwap {
		t.Errorf("Nice %d RTPriority %d NoSwap %v", ro.Nice, ro.RTPriority, ro.NoSwap)
	}
}
