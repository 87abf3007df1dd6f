package integration

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// frameKind classifies the frames the drills look at.
type frameKind int

const (
	kindOther frameKind = iota
	kindVRRP            // a VRRP advertisement (IPv4 or IPv6)
	kindGARP            // a gratuitous ARP (sender IP == target IP)
	kindNA              // an unsolicited neighbour advertisement (S flag clear)
)

func (k frameKind) String() string {
	return [...]string{"other", "VRRP", "GARP", "NA"}[k]
}

// frame is one captured Ethernet frame, timestamped by the kernel on arrival.
type frame struct {
	At       time.Time
	Outgoing bool // sent by the capturing node itself
	Data     []byte

	Kind     frameKind
	Src, Dst net.HardwareAddr
	// VRRP
	Version, VRID, Priority int
	IPSrc, IPDst            netip.Addr
	// GARP, NA: the announced address
	Target netip.Addr
}

func (f *frame) String() string {
	s := fmt.Sprintf("%s %v %s>%s", f.At.Format("15:04:05.000000"), f.Kind, f.Src, f.Dst)
	switch f.Kind {
	case kindVRRP:
		s += fmt.Sprintf(" v%d vrid %d prio %d %v>%v", f.Version, f.VRID, f.Priority, f.IPSrc, f.IPDst)
	case kindGARP, kindNA:
		s += fmt.Sprintf(" %v", f.Target)
	}
	return s
}

// from reports whether the frame was sent by node (by source MAC).
func (f *frame) from(n *netlab.Node) bool { return bytes.Equal(f.Src, n.MAC()) }

// parseFrame fills the classification fields from Data.
func (f *frame) parse() {
	b := f.Data
	if len(b) < 14 {
		return
	}
	f.Dst, f.Src = net.HardwareAddr(b[0:6]), net.HardwareAddr(b[6:12])
	etype := binary.BigEndian.Uint16(b[12:14])
	p := b[14:]
	switch etype {
	case 0x0806: // ARP
		if len(p) < 28 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
			return
		}
		spa, tpa := netip.AddrFrom4([4]byte(p[14:18])), netip.AddrFrom4([4]byte(p[24:28]))
		if spa == tpa {
			f.Kind, f.Target = kindGARP, spa
		}
	case 0x0800: // IPv4
		if len(p) < 20 {
			return
		}
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl+4 || p[9] != 112 {
			return
		}
		f.IPSrc, f.IPDst = netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
		f.vrrp(p[ihl:])
	case 0x86dd: // IPv6 (VRRP and ND carry no extension headers)
		if len(p) < 40 {
			return
		}
		src, dst := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
		pl := p[40:]
		switch p[6] {
		case 112:
			f.IPSrc, f.IPDst = src, dst
			f.vrrp(pl)
		case 58:
			// Neighbor Advertisement: type 136, flags R S O, target.
			if len(pl) >= 24 && pl[0] == 136 && pl[4]&0x40 == 0 {
				f.Kind, f.IPSrc, f.IPDst = kindNA, src, dst
				f.Target = netip.AddrFrom16([16]byte(pl[8:24]))
			}
		}
	}
}

func (f *frame) vrrp(v []byte) {
	if len(v) < 8 {
		return
	}
	f.Kind = kindVRRP
	f.Version, f.VRID, f.Priority = int(v[0]>>4), int(v[1]), int(v[2])
}

// capture records every frame seen on a node's interface with an AF_PACKET socket
// opened in the node's namespace, timestamped by the kernel (SO_TIMESTAMPNS), until
// the test ends.
type capture struct {
	node   *netlab.Node
	fd     int
	stop   atomic.Bool
	done   chan struct{}
	mu     sync.Mutex
	frames []*frame
	err    error
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startCapture starts capturing on n's interface.
func startCapture(t testing.TB, n *netlab.Node) *capture {
	t.Helper()
	link, err := n.Handle().LinkByName(n.IfName())
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{node: n, fd: -1, done: make(chan struct{})}
	err = n.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		c.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: link.Attrs().Index}); err != nil {
			return fmt.Errorf("bind: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
		tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		t.Fatalf("capture on %s: %v", n.Name(), err)
	}
	go c.loop()
	t.Cleanup(c.close)
	return c
}

func (c *capture) loop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for !c.stop.Load() {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		f := &frame{Data: append([]byte(nil), buf[:n]...)}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			f.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		f.At = time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					f.At = time.Unix(sec, nsec)
				}
			}
		}
		f.parse()
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
	}
}

func (c *capture) close() {
	if c.stop.Swap(true) {
		return
	}
	<-c.done
	unix.Close(c.fd)
}

// mark returns a position in the capture; queries look at frames after it.
func (c *capture) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// since returns the frames captured after mark.
func (c *capture) since(mark int) []*frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mark > len(c.frames) {
		mark = len(c.frames)
	}
	return append([]*frame(nil), c.frames[mark:]...)
}

// wait waits for the first frame after mark that matches pred.
func (c *capture) wait(mark int, timeout time.Duration, what string, pred func(*frame) bool) (*frame, error) {
	var found *frame
	err := netlab.WaitFor(timeout, func() (bool, error) {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return false, fmt.Errorf("capture on %s: %w", c.node.Name(), err)
		}
		for _, f := range c.since(mark) {
			if pred(f) {
				found = f
				return true, nil
			}
		}
		return false, nil
	}, func() string { return fmt.Sprintf("%s on %s; captured:\n%s", what, c.node.Name(), c.dump(mark)) })
	return found, err
}

// count waits until n frames after mark match pred; a frame matching bad first is
// an error.
func (c *capture) count(mark, n int, timeout time.Duration, what string, pred, bad func(*frame) bool) error {
	got := 0
	return netlab.WaitFor(timeout, func() (bool, error) {
		got = 0
		for _, f := range c.since(mark) {
			if bad != nil && bad(f) {
				return false, fmt.Errorf("unexpected frame %v while waiting for %d × %s on %s; captured:\n%s", f, n, what, c.node.Name(), c.dump(mark))
			}
			if pred(f) {
				if got++; got == n {
					return true, nil
				}
			}
		}
		return false, nil
	}, func() string {
		return fmt.Sprintf("%d × %s on %s (got %d); captured:\n%s", n, what, c.node.Name(), got, c.dump(mark))
	})
}

// dump lists the interesting frames after mark (the last 60).
func (c *capture) dump(mark int) string {
	var lines []string
	for _, f := range c.since(mark) {
		if f.Kind != kindOther {
			lines = append(lines, f.String())
		}
	}
	if len(lines) > 60 {
		lines = append([]string{"..."}, lines[len(lines)-60:]...)
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// writePcap writes frames in classic pcap format (LINKTYPE_ETHERNET, µs).
func writePcap(path string, frames []*frame) error {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	for _, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(f.At.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(f.At.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = append(b, f.Data...)
	}
	return os.WriteFile(path, b, 0o644)
}

// Predicates.

func isVRRPFrom(n *netlab.Node, vrid int) func(*frame) bool {
	return func(f *frame) bool { return f.Kind == kindVRRP && f.VRID == vrid && f.from(n) }
}

// isAnnounceFrom matches a gratuitous ARP or unsolicited NA for vip sent by n.
func isAnnounceFrom(n *netlab.Node, vip netip.Addr) func(*frame) bool {
	return func(f *frame) bool {
		return (f.Kind == kindGARP || f.Kind == kindNA) && f.Target == vip && f.from(n)
	}
}

func either(ps ...func(*frame) bool) func(*frame) bool {
	return func(f *frame) bool {
		for _, p := range ps {
			if p(f) {
				return true
			}
		}
		return false
	}
}
