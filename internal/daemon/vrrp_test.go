package daemon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp"
)

func loadConf(t *testing.T, src string) *conf.Config {
	t.Helper()
	cfg, ds := conf.LoadBytes("test.conf", []byte(src), conf.Options{ConfigID: "lvs1"})
	if ds.HasErrors() {
		for _, d := range ds {
			t.Log(d)
		}
		t.Fatal("config has errors")
	}
	return cfg
}

func TestVRRPConfigTranslation(t *testing.T) {
	cfg := loadConf(t, `
global_defs {
    vrrp_v3_checksum_as_v2
    vrrp_garp_interval 0.01
}
vrrp_script chk {
    script "/bin/true"
    interval 2
    weight -30
    rise 2
    fall 3
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_script {
        chk
    }
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.5
    version 3
    nopreempt
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth1 label eth1:v scope link
    }
    track_script {
        chk weight -20
    }
    notify "/bin/notify arg"
    garp_master_delay 3
    garp_master_repeat 2
}
`)
	ins, groups, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || len(groups) != 1 {
		t.Fatalf("%d instances, %d groups", len(ins), len(groups))
	}
	ic := ins[0]
	m := ic.Machine
	if m.Name != "VI_1" || m.VRID != 51 || m.Priority != 150 || m.Version != 3 || m.AdvertInterval != 500*time.Millisecond {
		t.Errorf("machine options %+v", m)
	}
	if !m.V3ChecksumAsV2 {
		t.Error("vrrp_v3_checksum_as_v2 not passed on")
	}
	if m.InitialState != vrrp.StateMaster {
		t.Errorf("initial state %v", m.InitialState)
	}
	if ic.SrcAddr != netip.MustParseAddr("192.0.2.1") || len(m.UnicastPeers) != 1 || m.UnicastPeers[0] != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("unicast: src %v peers %v", ic.SrcAddr, m.UnicastPeers)
	}
	if len(ic.VIPs) != 1 || ic.VIPs[0].Dev != "eth1" || ic.VIPs[0].Label != "eth1:v" || ic.VIPs[0].Prefix != netip.MustParsePrefix("192.0.2.100/24") {
		t.Errorf("VIPs %+v", ic.VIPs)
	}
	if ic.GARP.MasterDelay != 3*time.Second || ic.GARP.MasterRepeat != 2 || ic.GARP.ARPInterval != 10*time.Millisecond {
		t.Errorf("garp %+v", ic.GARP)
	}
	if ic.Notify.Any == nil || len(ic.Notify.Any.Argv) != 2 {
		t.Errorf("notify %+v", ic.Notify.Any)
	}
	// The instance's own track_script, then the group's: keepalived makes a sync
	// group member's trackers unweighted (no sync_group_tracking_weight).
	if len(ic.TrackScripts) != 2 {
		t.Fatalf("track scripts %+v", ic.TrackScripts)
	}
	for _, ts := range ic.TrackScripts {
		if ts.Weight != 0 || ts.Script.Rise != 2 || ts.Script.Fall != 3 || ts.Script.Interval != 2*time.Second {
			t.Errorf("track script %+v", ts)
		}
	}
	if groups[0].Name != "G" || len(groups[0].Members) != 1 {
		t.Errorf("group %+v", groups[0])
	}
}
