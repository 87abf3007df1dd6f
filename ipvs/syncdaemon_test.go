package ipvs

import (
	"net/netip"
	"testing"
)

// The kernel's readback of the same daemons is checked in the VM tier
// (TestVMSyncDaemonOptions compares Effective with SyncDaemons).
func TestSyncDaemonEffective(t *testing.T) {
	g6 := netip.MustParseAddr("ff02::1:81")
	for _, c := range []struct {
		d    SyncDaemon
		mtu  int
		want SyncDaemon
	}{
		{SyncDaemon{State: SyncMaster, Interface: "eth0"}, 9000,
			SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 1472, McastGroup: DefaultSyncGroup, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncBackup, Interface: "eth0"}, 9000,
			SyncDaemon{State: SyncBackup, Interface: "eth0", MaxLen: 8972, McastGroup: DefaultSyncGroup, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncBackup, Interface: "eth0"}, 1280, // below 1500: as 1500
			SyncDaemon{State: SyncBackup, Interface: "eth0", MaxLen: 1472, McastGroup: DefaultSyncGroup, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncBackup, Interface: "lo"}, 65536,
			SyncDaemon{State: SyncBackup, Interface: "lo", MaxLen: 65507, McastGroup: DefaultSyncGroup, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncBackup, Interface: "eth0", MaxLen: 100, McastGroup: g6, McastPort: 1, McastTTL: 9}, 1500,
			SyncDaemon{State: SyncBackup, Interface: "eth0", MaxLen: 1024, McastGroup: g6, McastPort: 1, McastTTL: 9}},
		{SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 100}, 1500,
			SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 100, McastGroup: DefaultSyncGroup, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 65535, McastGroup: g6}, 1500,
			SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 65487, McastGroup: g6, McastPort: 8848, McastTTL: 1}},
		{SyncDaemon{State: SyncMaster, Interface: "eth0", McastGroup: g6}, 1500,
			SyncDaemon{State: SyncMaster, Interface: "eth0", MaxLen: 1452, McastGroup: g6, McastPort: 8848, McastTTL: 1}},
	} {
		if got := c.d.Effective(c.mtu); got != c.want {
			t.Errorf("%+v.Effective(%d) = %+v, want %+v", c.d, c.mtu, got, c.want)
		}
	}
}

func TestSyncDaemonValidate(t *testing.T) {
	ok := SyncDaemon{State: SyncBackup, Interface: "eth0.100", SyncID: 255, McastGroup: netip.MustParseAddr("239.1.1.1")}
	if err := ok.Validate(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
	for _, bad := range []SyncDaemon{
		{State: 3, Interface: "eth0"},
		{State: SyncMaster},
		{State: SyncMaster, Interface: "a-very-long-name"},
		{State: SyncMaster, Interface: "eth0", SyncID: 256},
		{State: SyncMaster, Interface: "eth0", McastGroup: netip.MustParseAddr("10.0.0.1")},
		{State: SyncMaster, Interface: "eth0", McastGroup: netip.MustParseAddr("::ffff:224.0.0.81")},
		{State: SyncMaster, Interface: "eth0", McastGroup: netip.MustParseAddr("ff02::1%eth0")},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
