package ipvs

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/mdlayher/netlink"
)

// stats64Attr builds a nested STATS64 attribute as the kernel sends it
// (u64 values, preceded by a PAD attribute).
func stats64Attr(ae *netlink.AttributeEncoder, typ uint16, vals [10]uint64) {
	ae.Nested(typ, func(ae *netlink.AttributeEncoder) error {
		ae.Bytes(11, nil) // IPVS_STATS_ATTR_PAD
		for i, v := range vals {
			ae.Uint64(uint16(i+1), v)
		}
		return nil
	})
}

// stats32Attr builds the legacy STATS attribute: u32 except the byte counters.
func stats32Attr(ae *netlink.AttributeEncoder, typ uint16, vals [10]uint64) {
	ae.Nested(typ, func(ae *netlink.AttributeEncoder) error {
		for i, v := range vals {
			if i+1 == statsInBytes || i+1 == statsOutBytes {
				ae.Uint64(uint16(i+1), v)
			} else {
				ae.Uint32(uint16(i+1), uint32(v))
			}
		}
		return nil
	})
}

func encode(t testing.TB, f func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	f(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeServiceStats64(t *testing.T) {
	big := [10]uint64{5 << 32, 6<<32 + 1, 7<<32 + 2, 1 << 40, 1<<41 + 3, 11, 12, 13, 1 << 33, 1 << 34}
	b := encode(t, func(w *netlink.AttributeEncoder) {
		w.Uint16(svcAttrAF, uint16(FamilyIPv4))
		w.Uint16(svcAttrProtocol, uint16(TCP))
		w.Bytes(svcAttrAddr, []byte{10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // kernel sends 16 bytes
		w.Bytes(svcAttrPort, []byte{0, 80})
		w.String(svcAttrSchedName, "wrr")
		w.Bytes(svcAttrFlags, append(ne.AppendUint32(nil, uint32(FlagPersistent|FlagHashed)), 0xff, 0xff, 0xff, 0xff))
		w.Uint32(svcAttrTimeout, 300)
		w.Bytes(svcAttrNetmask, []byte{255, 255, 255, 0})
		stats32Attr(w, svcAttrStats, big) // truncated counters come first
		stats64Attr(w, svcAttrStats64, big)
		w.String(svcAttrPEName, "sip")
	})

	s, err := decodeService(b, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Conns: big[0], InPkts: big[1], OutPkts: big[2], InBytes: big[3], OutBytes: big[4],
		CPS: 11, InPPS: 12, OutPPS: 13, InBPS: big[8], OutBPS: big[9]}
	if s.Stats == nil || *s.Stats != want {
		t.Errorf("stats = %+v\nwant %+v", s.Stats, want)
	}
	if s.Key != AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80")) {
		t.Errorf("key = %v", s.Key)
	}
	if s.Scheduler != "wrr" || s.Flags != FlagPersistent|FlagHashed || s.Timeout != 300 || s.Netmask != 24 || s.PEName != "sip" {
		t.Errorf("settings = %+v", s)
	}
	// Without stats (what Reconcile reads): the same service, zero stats.
	settings, err := decodeService(b, false)
	s.Stats = nil
	if err != nil || !reflect.DeepEqual(settings, s) {
		t.Errorf("without stats: %+v, %v\nwant %+v", settings, err, s)
	}
}

func TestDecodeDestStats32Only(t *testing.T) {
	vals := [10]uint64{1, 2, 3, 1 << 35, 5, 6, 7, 8, 9, 10}
	b := encode(t, func(w *netlink.AttributeEncoder) {
		w.Bytes(destAttrAddr, netip.MustParseAddr("fd00::2").AsSlice())
		putNetOrder16(w, destAttrPort, 53)
		w.Uint32(destAttrFwdMethod, uint32(Tunnel)|0x0100) // other conn flags are masked
		w.Uint32(destAttrWeight, 9)
		w.Uint32(destAttrUThresh, 100)
		w.Uint32(destAttrLThresh, 50)
		w.Uint32(destAttrActiveConns, 3)
		w.Uint32(destAttrInactConns, 4)
		w.Uint32(destAttrPersistConns, 5)
		w.Uint16(destAttrAddrFamily, uint16(FamilyIPv6))
		w.Uint8(destAttrTunType, uint8(TunnelGUE))
		putNetOrder16(w, destAttrTunPort, 6080)
		w.Uint16(destAttrTunFlags, uint16(TunnelCsum))
		stats32Attr(w, destAttrStats, vals)
	})
	d, err := decodeDest(b, FamilyIPv4, true) // family from the attribute wins
	if err != nil {
		t.Fatal(err)
	}
	want := Destination{Addr: netip.MustParseAddr("fd00::2"), Port: 53, Method: Tunnel, Weight: 9,
		UpperThreshold: 100, LowerThreshold: 50, TunType: TunnelGUE, TunPort: 6080, TunFlags: TunnelCsum,
		Stats: &DestStats{Stats: Stats{1, 2, 3, 1 << 35, 5, 6, 7, 8, 9, 10}, ActiveConns: 3, InactConns: 4, PersistConns: 5}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("dest = %+v\nwant %+v", d, want)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	svcs := []Service{
		{Key: AddrKey(UDP, netip.MustParseAddrPort("[fd00::1]:53")), Scheduler: "sh", Flags: FlagSHPort | FlagPersistent, Timeout: 60, Netmask: 64},
		{Key: FWMarkKey(FamilyIPv4, 9), Netmask: 16, PEName: "sip"},
		{Key: AddrKey(SCTP, netip.MustParseAddrPort("192.0.2.1:0")), Flags: FlagOnePacket},
	}
	for _, s := range svcs {
		b := encode(t, func(ae *netlink.AttributeEncoder) { encodeService(ae, &s, true) })
		got, err := decodeNested(b, cmdAttrService, "service", svcWithStats)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.Scheduler = s.SchedulerName()
		want.Netmask = uint8(s.NetmaskBits())
		if got.Key != want.Key || !serviceSettingsEqual(&got, &want) {
			t.Errorf("round trip %v:\n got %+v\nwant %+v", s.Key, got, want)
		}
	}
	d := Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 8080, Method: Tunnel, Weight: 3, UpperThreshold: 7, LowerThreshold: 2, TunType: TunnelGRE, TunFlags: TunnelRemCsum}
	b := encode(t, func(ae *netlink.AttributeEncoder) { encodeDest(ae, &d, true) })
	got, err := decodeNested(b, cmdAttrDest, "destination", func(b []byte) (Destination, error) {
		return decodeDest(b, FamilyIPv6, true)
	})
	if err != nil || got != d {
		t.Errorf("dest round trip: %+v, %v", got, err)
	}
}

func TestNetmaskKernelForm(t *testing.T) {
	tests := []struct {
		f    Family
		bits int
		raw  []byte
	}{
		{FamilyIPv4, 32, []byte{255, 255, 255, 255}},
		{FamilyIPv4, 24, []byte{255, 255, 255, 0}},
		{FamilyIPv4, 0, []byte{0, 0, 0, 0}},
		{FamilyIPv6, 128, ne.AppendUint32(nil, 128)},
		{FamilyIPv6, 48, ne.AppendUint32(nil, 48)},
	}
	for _, tc := range tests {
		raw := netmaskToKernel(tc.f, tc.bits)
		if string(raw) != string(tc.raw) {
			t.Errorf("%v /%d: raw %x, want %x", tc.f, tc.bits, raw, tc.raw)
		}
		if got := netmaskFromKernel(tc.f, raw); int(got) != tc.bits {
			t.Errorf("%v %x: bits %d, want %d", tc.f, raw, got, tc.bits)
		}
	}
}

func TestDaemonRoundTrip(t *testing.T) {
	for _, d := range []SyncDaemon{
		{State: SyncMaster, Interface: "eth0", SyncID: 7, MaxLen: 1400, McastGroup: netip.MustParseAddr("239.1.2.3"), McastPort: 8849, McastTTL: 3},
		{State: SyncBackup, Interface: "eth1", McastGroup: netip.MustParseAddr("ff02::1:2")},
	} {
		b := encode(t, func(ae *netlink.AttributeEncoder) { encodeDaemon(ae, &d, true) })
		got, err := decodeNested(b, cmdAttrDaemon, "daemon", decodeDaemon)
		if err != nil || got != d {
			t.Errorf("daemon round trip: %+v, %v; want %+v", got, err, d)
		}
	}
}

// A reply without the expected nested attribute is an error that says so
// (the old transport printed "reply without service: <nil>").
func TestDecodeNestedMissing(t *testing.T) {
	b := encode(t, func(ae *netlink.AttributeEncoder) { ae.Uint32(cmdAttrTimeoutTCP, 1) })
	_, err := decodeNested(b, cmdAttrService, "service", svcWithStats)
	if err == nil || err.Error() != "reply without service attribute" {
		t.Fatalf("err = %v", err)
	}
	// A value of the wrong size is an error, not a silent zero.
	b = encode(t, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(ae *netlink.AttributeEncoder) error {
			ae.Uint32(svcAttrAF, uint32(FamilyIPv4))
			return nil
		})
	})
	if _, err := decodeNested(b, cmdAttrService, "service", svcWithStats); err == nil {
		t.Fatal("4-byte address family decoded")
	}
}

func FuzzDecodeAttrs(f *testing.F) {
	f.Add(encode(f, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, &Service{Key: AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80"))}, true)
	})[4:])
	f.Add(encode(f, func(ae *netlink.AttributeEncoder) {
		encodeDest(ae, &Destination{Addr: netip.MustParseAddr("fd00::1"), Method: Tunnel}, true)
		stats64Attr(ae, destAttrStats64, [10]uint64{1, 2, 3})
	})[4:])
	f.Add([]byte{0xff, 0xff, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeService(b, true)
		_, _ = decodeDest(b, FamilyIPv4, true)
		_, _ = decodeDaemon(b)
		_, _ = decodeStats(b)
		_, _ = decodeNested(b, cmdAttrService, "service", svcWithStats)
	})
}

func svcWithStats(b []byte) (Service, error) { return decodeService(b, true) }
