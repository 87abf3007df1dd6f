package bgp

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bfd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// bfdResponder is the router's BFD side, minimal RFC 5880 asynchronous
// mode: it answers each control packet of the speaker (Down -> Init, Init or
// Up -> Up) to the speaker's BFD port 3784. A second GoBGP cannot be the
// peer: GoBGP's BFD listener is fixed at :3784, which the speaker holds.
type bfdResponder struct {
	conn   *net.UDPConn
	mute   atomic.Bool
	myDisc uint32
}

func newBFDResponder(t *testing.T, addr string) *bfdResponder {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(addr), 0)))
	if err != nil {
		t.Skipf("listen UDP on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	r := &bfdResponder{conn: c, myDisc: 0x1234}
	go r.loop()
	return r
}

func (r *bfdResponder) port() uint16 { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

func (r *bfdResponder) loop() {
	buf := make([]byte, 1500)
	state := bfd.StateDown
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		var h bfd.BFDHeader
		if h.UnmarshalBinary(buf[:n]) != nil || r.mute.Load() {
			continue
		}
		switch h.State {
		case bfd.StateDown:
			state = bfd.StateInit
		case bfd.StateInit, bfd.StateUp:
			state = bfd.StateUp
		case bfd.StateAdminDown:
			state = bfd.StateDown
		}
		out := bfd.BFDHeader{
			Version: 1, State: state, Final: h.Poll, DetectTimeMultiplier: 4,
			MyDiscriminator: r.myDisc, YourDiscriminator: h.MyDiscriminator,
			DesiredMinTxInterval: 250_000, RequiredMinRxInterval: 250_000,
		}
		b, err := out.MarshalBinary()
		if err != nil {
			continue
		}
		to := netip.AddrPortFrom(from.Addr(), 3784) // RFC 5881: to the BFD port, not the source port
		_, _ = r.conn.WriteToUDPAddrPort(b, to)
	}
}

func TestSpeakerBFD(t *testing.T) {
	// Not parallel: the speaker's BFD listener is UDP :3784 (GoBGP's fixed
	// port) and only one speaker in the process can hold it.
	if c, err := net.ListenUDP("udp", &net.UDPAddr{Port: 3784}); err != nil {
		t.Skipf("UDP port 3784 (BFD) not available: %v", err)
	} else {
		c.Close()
	}
	peer := newTestPeer(t, "127.0.0.9", peerConfig{hold: 9 * time.Second})
	resp := newBFDResponder(t, "127.0.0.9")
	n := peer.neighbor()
	n.HoldTime = 9 * time.Second
	// 4 x 250 ms: 1 s detection, tolerant of a loaded test machine.
	n.BFD = &BFD{MinTx: 250 * time.Millisecond, MinRx: 250 * time.Millisecond, Multiplier: 4}
	reg := prometheus.NewPedanticRegistry()
	s, err := New(opts(n), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.bfdPort = resp.port()
	runSpeaker(t, s)
	waitFor(t, 10*time.Second, "session established", established(s, n.Address))
	d := waitFor(t, 10*time.Second, "BFD up", func() bool { return peerStatus(s, n.Address).BFD == "up" })
	t.Logf("BFD up %s after BGP", d.Round(time.Millisecond))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP lvs_ha_bgp_bfd_up 1 while the BFD session with the neighbor is Up (neighbors with BFD only).
# TYPE lvs_ha_bgp_bfd_up gauge
lvs_ha_bgp_bfd_up{neighbor="127.0.0.9"} 1
`), "lvs_ha_bgp_bfd_up"); err != nil {
		t.Error(err)
	}

	// The router's BFD goes silent: the session is reset after the BFD
	// detection time (4 x 250 ms), long before the 9 s hold time.
	resp.mute.Store(true)
	d = waitFor(t, n.HoldTime-time.Second, "session reset by BFD", func() bool { return !established(s, n.Address)() })
	t.Logf("BFD silent -> session down: %s (detection 1 s, hold time %s)", d.Round(time.Millisecond), n.HoldTime)
	if got := peerStatus(s, n.Address); got.BFD == "up" {
		t.Errorf("BFD state after expiry: %+v", got)
	}
}
