package ipvs

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// stats64Attr builds a nested STATS64 attribute as the kernel sends it
// (u64 values, preceded by a PAD attribute).
func stats64Attr(w *attrWriter, typ uint16, vals [10]uint64) {
	end := w.nest(typ | nlaFNested)
	w.put(11, nil) // IPVS_STATS_ATTR_PAD
	for i, v := range vals {
		w.put(uint16(i+1), ne.AppendUint64(nil, v))
	}
	end()
}

// stats32Attr builds the legacy STATS attribute: u32 except the byte counters.
func stats32Attr(w *attrWriter, typ uint16, vals [10]uint64) {
	end := w.nest(typ | nlaFNested)
	for i, v := range vals {
		if i+1 == statsInBytes || i+1 == statsOutBytes {
			w.put(uint16(i+1), ne.AppendUint64(nil, v))
		} else {
			w.u32(uint16(i+1), uint32(v))
		}
	}
	end()
}

func TestDecodeServiceStats64(t *testing.T) {
	big := [10]uint64{5 << 32, 6<<32 + 1, 7<<32 + 2, 1 << 40, 1<<41 + 3, 11, 12, 13, 1 << 33, 1 << 34}
	var w attrWriter
	w.u16(svcAttrAF, uint16(FamilyIPv4))
	w.u16(svcAttrProtocol, uint16(TCP))
	w.put(svcAttrAddr, []byte{10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // kernel sends 16 bytes
	w.be16(svcAttrPort, 80)
	w.str(svcAttrSchedName, "wrr")
	w.put(svcAttrFlags, append(ne.AppendUint32(nil, uint32(FlagPersistent|FlagHashed)), 0xff, 0xff, 0xff, 0xff))
	w.u32(svcAttrTimeout, 300)
	w.put(svcAttrNetmask, []byte{255, 255, 255, 0})
	stats32Attr(&w, svcAttrStats, big) // truncated counters come first
	stats64Attr(&w, svcAttrStats64, big)
	w.str(svcAttrPEName, "sip")

	s, err := decodeService(w.b)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Conns: big[0], InPkts: big[1], OutPkts: big[2], InBytes: big[3], OutBytes: big[4],
		CPS: 11, InPPS: 12, OutPPS: 13, InBPS: big[8], OutBPS: big[9]}
	if s.Stats != want {
		t.Errorf("stats = %+v\nwant %+v", s.Stats, want)
	}
	if s.Key != AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80")) {
		t.Errorf("key = %v", s.Key)
	}
	if s.Scheduler != "wrr" || s.Flags != FlagPersistent|FlagHashed || s.Timeout != 300 || s.Netmask != 24 || s.PEName != "sip" {
		t.Errorf("settings = %+v", s)
	}
}

func TestDecodeDestStats32Only(t *testing.T) {
	vals := [10]uint64{1, 2, 3, 1 << 35, 5, 6, 7, 8, 9, 10}
	var w attrWriter
	w.put(destAttrAddr, netip.MustParseAddr("fd00::2").AsSlice())
	w.be16(destAttrPort, 53)
	w.u32(destAttrFwdMethod, uint32(Tunnel)|0x0100) // other conn flags are masked
	w.u32(destAttrWeight, 9)
	w.u32(destAttrUThresh, 100)
	w.u32(destAttrLThresh, 50)
	w.u32(destAttrActiveConns, 3)
	w.u32(destAttrInactConns, 4)
	w.u32(destAttrPersistConns, 5)
	w.u16(destAttrAddrFamily, uint16(FamilyIPv6))
	w.u8(destAttrTunType, uint8(TunnelGUE))
	w.be16(destAttrTunPort, 6080)
	w.u16(destAttrTunFlags, uint16(TunnelCsum))
	stats32Attr(&w, destAttrStats, vals)
	d, err := decodeDest(w.b, FamilyIPv4) // family from the attribute wins
	if err != nil {
		t.Fatal(err)
	}
	want := Destination{Addr: netip.MustParseAddr("fd00::2"), Port: 53, Method: Tunnel, Weight: 9,
		UpperThreshold: 100, LowerThreshold: 50, TunType: TunnelGUE, TunPort: 6080, TunFlags: TunnelCsum,
		Stats: DestStats{Stats: Stats{1, 2, 3, 1 << 35, 5, 6, 7, 8, 9, 10}, ActiveConns: 3, InactConns: 4, PersistConns: 5}}
	if d != want {
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
		var w attrWriter
		encodeService(&w, &s, true)
		v, ok, err := findAttr(w.b, cmdAttrService)
		if !ok || err != nil {
			t.Fatalf("%v: no service attr (%v)", s.Key, err)
		}
		got, err := decodeService(v)
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
	var w attrWriter
	encodeDest(&w, &d, true)
	v, _, _ := findAttr(w.b, cmdAttrDest)
	got, err := decodeDest(v, FamilyIPv6)
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

func TestParseReplies(t *testing.T) {
	msg := func(typ uint16, seq uint32, body []byte) []byte {
		b := ne.AppendUint32(nil, uint32(16+len(body)))
		b = ne.AppendUint16(b, typ)
		b = ne.AppendUint16(b, 2) // NLM_F_MULTI
		b = ne.AppendUint32(b, seq)
		b = ne.AppendUint32(b, 0)
		b = append(b, body...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	var got [][]byte
	b := append(msg(30, 7, []byte{4, 1, 0, 0, 1, 2, 3, 4}), msg(30, 6, []byte{4, 1, 0, 0, 9})...)
	b = append(b, msg(3, 7, []byte{0, 0, 0, 0})...)
	done, err := parseReplies(b, 7, func(p []byte) { got = append(got, p) })
	if !done || err != nil || len(got) != 1 || string(got[0]) != "\x01\x02\x03\x04" {
		t.Fatalf("done=%v err=%v got=%x", done, err, got)
	}
	errMsg := msg(2, 8, binary.NativeEndian.AppendUint32(nil, uint32(0xffffffff-2))) // -3 = ESRCH
	done, err = parseReplies(errMsg, 8, func([]byte) {})
	if !done || err == nil || err.Error() != "no such process" {
		t.Fatalf("done=%v err=%v", done, err)
	}
}

func FuzzDecodeAttrs(f *testing.F) {
	var w attrWriter
	encodeService(&w, &Service{Key: AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80"))}, true)
	f.Add(w.b[4:])
	w = attrWriter{}
	encodeDest(&w, &Destination{Addr: netip.MustParseAddr("fd00::1"), Method: Tunnel}, true)
	stats64Attr(&w, destAttrStats64, [10]uint64{1, 2, 3})
	f.Add(w.b[4:])
	f.Add([]byte{0xff, 0xff, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeService(b)
		_, _ = decodeDest(b, FamilyIPv4)
		_, _ = decodeDaemon(b)
		_, _ = parseStats(b)
		_, _ = parseReplies(b, 1, func([]byte) {})
	})
}
