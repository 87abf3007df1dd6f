package ipvs

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
)

// walker is what netlink.AttributeDecoder and attrDecoder share.
type walker interface {
	Next() bool
	Type() uint16
	Uint8() uint8
	Uint16() uint16
	Uint32() uint32
	String() string
	Err() error
}

// walk traces what ad makes of its input: each attribute's type and value
// (read as the accessor for that type reads it; bytes3 reads a value of 3
// bytes or more), then the error.
func walk(ad walker, bytes3 func() []byte) string {
	var w bytes.Buffer
	for ad.Next() {
		fmt.Fprintf(&w, "%d ", ad.Type())
		switch ad.Type() % 5 {
		case 0:
			fmt.Fprintf(&w, "%d;", ad.Uint8())
		case 1:
			fmt.Fprintf(&w, "%d;", ad.Uint16())
		case 2:
			fmt.Fprintf(&w, "%d;", ad.Uint32())
		case 3:
			fmt.Fprintf(&w, "%q;", ad.String())
		case 4:
			if v := bytes3(); v != nil {
				fmt.Fprintf(&w, "%x;", v)
			}
		}
	}
	return w.String() + fmt.Sprint(ad.Err())
}

func walkLib(b []byte) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return "new: " + err.Error()
	}
	return walk(ad, func() (v []byte) {
		ad.Do(func(b []byte) error {
			if len(b) < 3 {
				return fmt.Errorf("attribute %d: %d bytes, want %d", ad.Type(), len(b), 3)
			}
			v = b
			return nil
		})
		return v
	})
}

func walkOwn(b []byte) string {
	ad := newAttrDecoder(b)
	if ad.Err() != nil {
		return "new: " + ad.Err().Error()
	}
	return walk(&ad, func() []byte { return ad.Bytes(3) })
}

// attrDecoder reads every input as netlink.AttributeDecoder does: same
// attributes, values and errors.
func FuzzAttrDecoderMatchesNetlink(f *testing.F) {
	f.Add(encode(f, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, &Service{Key: AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80")), PEName: "sip"}, true)
		ae.Uint8(5, 1)
		ae.Uint16(6, 2)
		ae.Uint32(7, 3)
		ae.String(8, "rr\x00\x00")
		ae.Bytes(9, []byte{1, 2, 3, 4, 5})
		ae.Bytes(10, nil)
	}))
	f.Add([]byte{0, 0, 1, 0, 4, 0, 2, 0})       // zero-length attribute, then an empty one
	f.Add([]byte{3, 0, 1, 0})                   // length below the header
	f.Add([]byte{9, 0, 1, 0, 1, 2})             // length past the end
	f.Add([]byte{5, 0, 5, 0, 7, 0, 0, 0, 1, 0}) // trailing fragment
	f.Add([]byte{5, 0, 0x05, 0x80, 7, 0, 0, 0}) // nested flag masked off
	f.Fuzz(func(t *testing.T, b []byte) {
		if lib, own := walkLib(b), walkOwn(b); lib != own {
			t.Fatalf("netlink: %s\nown:     %s", lib, own)
		}
	})
}

func TestAttrDecoderSeeds(t *testing.T) {
	for _, b := range [][]byte{
		{0, 0, 1, 0, 4, 0, 2, 0}, {3, 0, 1, 0}, {9, 0, 1, 0, 1, 2}, {5, 0, 5, 0, 7, 0, 0, 0, 1, 0},
		{6, 0, 1, 0, 7, 0, 0, 0, 5, 0, 3, 0, 'a', 0, 0, 0, 8, 0, 4, 0, 1, 2, 3, 4},
	} {
		if lib, own := walkLib(b), walkOwn(b); lib != own {
			t.Errorf("%x:\nnetlink: %s\nown:     %s", b, lib, own)
		}
	}
}

// destReply is a GET_DEST reply payload as the kernel sends it (every
// attribute of kernel 6.x, with both stats).
func destReply(t testing.TB) []byte {
	return encode(t, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrDest, func(w *netlink.AttributeEncoder) error {
			w.Bytes(destAttrAddr, netip.MustParseAddr("10.1.2.3").AsSlice())
			putNetOrder16(w, destAttrPort, 8080)
			w.Uint32(destAttrFwdMethod, uint32(Masq))
			w.Uint32(destAttrWeight, 5)
			w.Uint8(destAttrTunType, 0)
			putNetOrder16(w, destAttrTunPort, 0)
			w.Uint16(destAttrTunFlags, 0)
			w.Uint32(destAttrUThresh, 0)
			w.Uint32(destAttrLThresh, 0)
			w.Uint32(destAttrActiveConns, 1)
			w.Uint32(destAttrInactConns, 2)
			w.Uint32(destAttrPersistConns, 3)
			stats32Attr(w, destAttrStats, [10]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
			stats64Attr(w, destAttrStats64, [10]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
			w.Uint16(destAttrAddrFamily, uint16(FamilyIPv4))
			return nil
		})
	})
}

// Decoding a real server allocates only its stats (read by every scrape
// and reconcile, per real server); without stats nothing. The library's
// decoder allocated ~40 objects per real server.
func TestDecodeDestAllocs(t *testing.T) {
	reply := destReply(t)
	for _, tc := range []struct {
		stats bool
		max   float64
	}{{true, 1}, {false, 0}} {
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			_, err = decodeNested(reply, cmdAttrDest, "destination", func(b []byte) (Destination, error) {
				return decodeDest(b, FamilyIPv4, tc.stats)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs > tc.max {
			t.Errorf("stats %v: %v allocations per destination, want <= %v", tc.stats, allocs, tc.max)
		}
	}
}

// A service costs its scheduler name and its stats.
func TestDecodeServiceAllocs(t *testing.T) {
	reply := encode(t, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(w *netlink.AttributeEncoder) error {
			w.Uint16(svcAttrAF, uint16(FamilyIPv4))
			w.Uint16(svcAttrProtocol, uint16(TCP))
			w.Bytes(svcAttrAddr, netip.MustParseAddr("10.0.0.1").AsSlice())
			putNetOrder16(w, svcAttrPort, 80)
			w.String(svcAttrSchedName, "wrr")
			w.Bytes(svcAttrFlags, make([]byte, 8))
			w.Uint32(svcAttrTimeout, 0)
			w.Bytes(svcAttrNetmask, []byte{255, 255, 255, 255})
			stats32Attr(w, svcAttrStats, [10]uint64{1})
			stats64Attr(w, svcAttrStats64, [10]uint64{1})
			return nil
		})
	})
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		_, err = decodeNested(reply, cmdAttrService, "service", svcWithStats)
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs > 2 {
		t.Errorf("%v allocations per service, want <= 2", allocs)
	}
}
