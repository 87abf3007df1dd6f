package vip

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/rawsys"
)

// nlAck is an NLMSG_ERROR message acking request seq with errno (0: success).
func nlAck(seq uint32, errno int32) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+4+unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN:], uint32(-errno))
	return b
}

// TestAckOf: the ack of our request is found past an earlier request's,
// its errno returned; a reply without it is not ours; malformed replies are
// errors, never a panic.
func TestAckOf(t *testing.T) {
	two := append(nlAck(6, 0), nlAck(7, int32(unix.EEXIST))...)
	if ours, err := ackOf(two, 7); !ours || !errors.Is(err, unix.EEXIST) {
		t.Errorf("ack 7 after ack 6: %v %v, want ours, EEXIST", ours, err)
	}
	if ours, err := ackOf(two, 6); !ours || err != nil {
		t.Errorf("ack 6: %v %v, want ours, nil", ours, err)
	}
	if ours, err := ackOf(two, 8); ours || err != nil {
		t.Errorf("no ack 8: %v %v, want not ours", ours, err)
	}
	bad := nlAck(7, 0)
	binary.NativeEndian.PutUint32(bad[0:], 3)
	if ours, err := ackOf(bad, 7); !ours || err == nil {
		t.Errorf("length 3: %v %v, want an error", ours, err)
	}
	short := nlAck(7, 0)[:unix.NLMSG_HDRLEN+2]
	binary.NativeEndian.PutUint32(short[0:], uint32(len(short)))
	if ours, err := ackOf(short, 7); !ours || err == nil {
		t.Errorf("short ack: %v %v, want an error", ours, err)
	}
}

func FuzzAckOf(f *testing.F) {
	f.Add(append(nlAck(6, 0), nlAck(7, -1)...), uint32(7))
	f.Add([]byte{1, 2, 3}, uint32(1))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		_, _ = ackOf(b, seq)
	})
}

// The ack buffer's page is mapped when the socket opens, not at the first
// add's ack (on a takeover's path to its first GARP).
func TestRawConnBufferPrefaulted(t *testing.T) {
	c, err := openRaw()
	if err != nil {
		t.Skip(err)
	}
	defer unix.Close(c.fd)
	if c.links != nil {
		defer c.links.Close()
	}
	if in, all, err := rawsys.Resident(c.buf); err != nil || in != all {
		t.Fatalf("ack buffer: %d of %d pages resident (%v)", in, all, err)
	}
}
