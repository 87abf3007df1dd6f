package integration

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// vrrpLab is the topology of the VRRP drills: directors lvs1..lvsN
// (192.0.2.11, .12, ... and 2001:db8::11, ...) and a client on one bridge, with a
// capture running on the client from the start.
type vrrpLab struct {
	t      *testing.T
	lab    *netlab.Lab
	nodes  []*netlab.Node // director nodes
	client *netlab.Node
	cap    *capture // on the client
}

var (
	vip4 = netip.MustParsePrefix("192.0.2.100/24")
	vip6 = netip.MustParsePrefix("2001:db8::100/64")
)

func newVRRPLab(t *testing.T, directors int) *vrrpLab {
	t.Helper()
	v := &vrrpLab{t: t, lab: netlab.New(t, netlab.Options{})}
	for i := 1; i <= directors; i++ {
		v.nodes = append(v.nodes, v.lab.AddNode(fmt.Sprintf("lvs%d", i)))
	}
	v.client = v.lab.AddNode("client")
	v.cap = startCapture(t, v.client)
	return v
}

// director creates (does not start) a director of impl on the i-th node with a
// single instance.
func (v *vrrpLab) director(i int, im impl, inst vrrpInst) *director {
	v.t.Helper()
	return newDirector(v.t, im, v.nodes[i], vrrpConfig{Instances: []vrrpInst{inst}})
}

// startAll starts the directors (in order).
func startAll(ds ...*director) {
	for _, d := range ds {
		d.t.Helper()
		d.start()
	}
}

// waitSoleMaster waits until master holds its VIPs and no other running director
// holds any (a crashed process leaves its VIPs behind; those do not count).
func waitSoleMaster(t testing.TB, master *director, all ...*director) {
	t.Helper()
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		if !master.running() {
			return false, fmt.Errorf("%v is not running", master)
		}
		if !master.hasVIP() {
			return false, nil
		}
		for _, d := range all {
			if d != master && d.running() && d.anyVIP() {
				return false, nil
			}
		}
		return true, nil
	}, func() string { return fmt.Sprintf("%v to be the only master (%s)", master, vipReport(all)) })
	if err != nil {
		t.Fatal(err)
	}
}

func vipReport(ds []*director) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%v running=%v vip=%v states=%v", d, d.running(), d.anyVIP(), d.states(0)))
	}
	return strings.Join(parts, "; ")
}

// assertStable waits for n adverts from master seen on c after mark and fails if
// any other director advertises the same VRID in between: with n spanning more than
// a master-down interval, nobody else claims mastership.
func assertStable(t testing.TB, c *capture, mark, n int, master *director, others ...*director) {
	t.Helper()
	vrid := master.inst().VRID
	bad := func(f *frame) bool {
		for _, o := range others {
			if isVRRPFrom(o.node, vrid)(f) && f.Priority > 0 {
				return true
			}
		}
		return false
	}
	if err := c.count(mark, n, eventTimeout, fmt.Sprintf("adverts from %v", master), isVRRPFrom(master.node, vrid), bad); err != nil {
		t.Fatal(err)
	}
}

// touchVIP sends a UDP datagram from n to vip so that n resolves (and caches) the
// VIP's link-layer address, and waits until the neighbour entry names want.
func touchVIP(t testing.TB, n *netlab.Node, vip netip.Addr, want net.HardwareAddr) {
	t.Helper()
	send := func() error {
		return n.Do(func() error {
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(vip, 9)))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("lvs-ha integration"))
			return err
		})
	}
	if err := send(); err != nil {
		t.Fatalf("%s: send to %v: %v", n.Name(), vip, err)
	}
	waitNeigh(t, n, vip, want)
}

// waitNeigh waits until n's neighbour entry for ip holds want.
func waitNeigh(t testing.TB, n *netlab.Node, ip netip.Addr, want net.HardwareAddr) {
	t.Helper()
	var got net.HardwareAddr
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		got, _ = n.Neigh(ip)
		return bytes.Equal(got, want), nil
	}, func() string { return fmt.Sprintf("%s: neighbour %v -> %v (now %v)", n.Name(), ip, want, got) })
	if err != nil {
		t.Fatal(err)
	}
}

// dropVRRPMulticast makes the bridge drop frames to the VRRP multicast groups
// (01:00:5e:00:00:12 and 33:33:00:00:00:12), and checks that it does.
func (v *vrrpLab) dropVRRPMulticast() {
	v.t.Helper()
	rules := `table bridge lvsha_drills {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ether daddr 01:00:5e:00:00:12 counter drop
		ether daddr 33:33:00:00:00:12 counter drop
	}
}
`
	cmd := v.lab.SwitchCommand("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		v.t.Fatalf("nft in the switch namespace: %v\n%s", err, out)
	}
	// Probe: of two frames sent from the client (local experimental EtherType), the one
	// to the VRRP group must not reach lvs1 while the unicast one after it does.
	probe := startCapture(v.t, v.nodes[0])
	mark := probe.mark()
	mcast := net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
	if err := sendRawFrames(v.client, mcast, v.nodes[0].MAC()); err != nil {
		v.t.Fatal(err)
	}
	isProbeTo := func(dst net.HardwareAddr) func(*frame) bool {
		return func(f *frame) bool {
			return len(f.Data) >= 14 && f.Data[12] == 0x88 && f.Data[13] == 0xb5 && bytes.Equal(f.Dst, dst)
		}
	}
	if _, err := probe.wait(mark, eventTimeout, "unicast probe frame", isProbeTo(v.nodes[0].MAC())); err != nil {
		v.t.Fatal(err)
	}
	for _, f := range probe.since(mark) {
		if isProbeTo(mcast)(f) {
			v.t.Fatalf("a frame to %v went through the bridge despite the nft rule", mcast)
		}
	}
	probe.close()
}

// sendRawFrames sends one small frame (EtherType 0x88b5) from n to each dst, in order.
func sendRawFrames(n *netlab.Node, dsts ...net.HardwareAddr) error {
	link, err := n.Handle().LinkByName(n.IfName())
	if err != nil {
		return err
	}
	return n.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, dst := range dsts {
			f := append(append(append([]byte{}, dst...), n.MAC()...), 0x88, 0xb5)
			f = append(f, make([]byte, 46)...)
			sa := &unix.SockaddrLinklayer{Ifindex: link.Attrs().Index, Halen: 6, Protocol: htons(0x88b5)}
			copy(sa.Addr[:], dst)
			if err := unix.Sendto(fd, f, 0, sa); err != nil {
				return fmt.Errorf("send to %v: %w", dst, err)
			}
		}
		return nil
	})
}
