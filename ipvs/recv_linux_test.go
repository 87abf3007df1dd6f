package ipvs

import (
	"bytes"
	"io"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// libraryAccepts reports whether netlink.Conn.Receive returns m without an
// error (its checkMessage).
func libraryAccepts(m netlink.Message) bool {
	sent := false
	c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) {
		if sent {
			return nil, io.EOF
		}
		sent = true
		return []netlink.Message{m}, nil
	})
	defer c.Close()
	_, err := c.Receive()
	return err == nil
}

// parseClean parses a datagram as syscall.ParseNetlinkMessage does, and
// takes in place exactly the datagrams netlink.Conn.Receive accepts.
func FuzzParseClean(f *testing.F) {
	msg := func(typ netlink.HeaderType, flags netlink.HeaderFlags, data ...byte) []byte {
		b, _ := (&netlink.Message{Header: netlink.Header{Length: uint32(nlmsgAlign(16 + len(data))), Type: typ, Flags: flags, Sequence: 7}, Data: data}).MarshalBinary()
		return b
	}
	f.Add(append(msg(0x20, netlink.Multi, 1, 2, 3, 4, 5), msg(netlink.Done, netlink.Multi, 0, 0, 0, 0)...))
	f.Add(msg(netlink.Error, 0, 0, 0, 0, 0))                                 // ACK
	f.Add(msg(netlink.Error, 0, 0xfe, 0xff, 0xff, 0xff))                     // -2
	f.Add(msg(netlink.Done, netlink.Multi, 0xfe, 0xff, 0xff, 0xff))          // done with an errno
	f.Add(msg(netlink.Done, netlink.Multi))                                  // done without data
	f.Add(msg(netlink.Done, netlink.Multi|netlink.AcknowledgeTLVs, 0, 0, 0)) // short errno
	f.Add([]byte{15, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, multi, ok := parseClean(b, nil)
		sys, err := syscall.ParseNetlinkMessage(b)
		if err != nil {
			if ok {
				t.Fatalf("parsed %d messages of what syscall fails: %v", len(msgs), err)
			}
			return
		}
		accepts, wantMulti := true, false
		for _, m := range sys {
			h := netlink.Header{Length: m.Header.Len, Type: netlink.HeaderType(m.Header.Type),
				Flags: netlink.HeaderFlags(m.Header.Flags), Sequence: m.Header.Seq, PID: m.Header.Pid}
			accepts = accepts && libraryAccepts(netlink.Message{Header: h, Data: m.Data})
			if h.Flags&netlink.Multi != 0 {
				wantMulti = h.Type != netlink.Done
			}
		}
		if ok != accepts {
			t.Fatalf("ok %v, library accepts %v", ok, accepts)
		}
		if !ok {
			return
		}
		if len(msgs) != len(sys) || multi != wantMulti {
			t.Fatalf("%d messages (multi %v), want %d (%v)", len(msgs), multi, len(sys), wantMulti)
		}
		for i, m := range sys {
			g := msgs[i]
			if g.Header.Length != m.Header.Len || uint16(g.Header.Type) != m.Header.Type || uint16(g.Header.Flags) != m.Header.Flags ||
				g.Header.Sequence != m.Header.Seq || g.Header.PID != m.Header.Pid || !bytes.Equal(g.Data, m.Data) {
				t.Fatalf("message %d: %+v, want %+v", i, g, m)
			}
		}
	})
}
