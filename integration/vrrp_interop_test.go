package integration

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVRRPInterop pairs keepalived and lvs-ha in both roles, with VRRP v2 and v3,
// multicast and unicast: they agree on one master, the backup takes over when the
// master stops, and the master preempts the other implementation when it returns.
// Every advert captured on the way must decode in tshark with a correct checksum.
func TestVRRPInterop(t *testing.T) {
	for _, version := range []int{2, 3} {
		for _, unicast := range []bool{false, true} {
			for _, pair := range [][2]impl{{implKeepalived, implLVSHA}, {implLVSHA, implKeepalived}} {
				mode := "multicast"
				if unicast {
					mode = "unicast"
				}
				name := fmt.Sprintf("v%d/%s/%s-master+%s-backup", version, mode, pair[0], pair[1])
				t.Run(name, func(t *testing.T) {
					requireImpls(t, pair[:]...)
					interop(t, pair, version, unicast)
				})
			}
		}
	}
}

func interop(t *testing.T, pair [2]impl, version int, unicast bool) {
	v := newVRRPLab(t, 2)
	ia, ib := fastInst(150), fastInst(100)
	if version == 2 {
		ia.Version, ib.Version = 2, 2
		ia.AdvertInt, ib.AdvertInt = time.Second, time.Second
	}
	cap := v.cap
	if unicast {
		v.dropVRRPMulticast()
		ia.UnicastSrc, ia.UnicastPeers = v.nodes[0].Addr4(), []netip.Addr{v.nodes[1].Addr4()}
		ib.UnicastSrc, ib.UnicastPeers = v.nodes[1].Addr4(), []netip.Addr{v.nodes[0].Addr4()}
		// The client sees no unicast adverts; lvs2 sees both sides' (its own as
		// outgoing frames).
		cap = startCapture(t, v.nodes[1])
	}
	a := v.director(0, pair[0], ia)
	b := v.director(1, pair[1], ib)
	// Start the backup first: the master then preempts a running master of the other
	// implementation.
	startAll(b, a)
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", 0)
	assertStable(t, cap, cap.mark(), 2, a, b)

	mb := b.mark()
	mark := cap.mark()
	a.stop()
	b.mustState("MASTER", mb)
	waitSoleMaster(t, b, a, b)
	if _, err := cap.wait(mark, eventTimeout, "advert from lvs2", isVRRPFrom(b.node, 51)); err != nil {
		t.Fatal(err)
	}

	mb = b.mark()
	a.start()
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", mb)
	assertStable(t, cap, cap.mark(), 2, a, b)

	// Both implementations' adverts, checked by Wireshark's dissector.
	var vrrp []*frame
	seen := map[string]int{}
	for _, f := range cap.since(0) {
		if f.Kind == kindVRRP && f.VRID == 51 {
			vrrp = append(vrrp, f)
			for _, d := range []*director{a, b} {
				if f.from(d.node) {
					seen[string(d.impl)]++
				}
			}
		}
	}
	for _, d := range []*director{a, b} {
		if seen[string(d.impl)] == 0 {
			t.Errorf("no advert of %v captured", d)
		}
	}
	tsharkCheck(t, vrrp, version)
}

// tsharkCheck has tshark decode frames (all VRRP) and requires each to be VRRP of
// the given version with a checksum tshark calls correct (RFC 5798 pseudo-header
// checksum for v3 over IPv4, as keepalived computes it by default).
func tsharkCheck(t *testing.T, frames []*frame, version int) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed: adverts not checked")
		return
	}
	if len(frames) == 0 {
		t.Error("no VRRP frames to check")
		return
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "vrrp.pcap")
	if err := writePcap(file, frames); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", file, "-V", "-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-o", "ip.check_checksum:TRUE")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	var decoded, correct, versions int
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Virtual Router Redundancy Protocol"):
			decoded++
		case strings.HasPrefix(l, "Checksum: 0x") && strings.HasSuffix(l, "[correct]"):
			correct++
		case strings.HasPrefix(l, fmt.Sprintf("%04b .... = VRRP protocol version: %d", version, version)):
			versions++
		}
		if strings.Contains(l, "incorrect") || strings.Contains(l, "Malformed") || strings.Contains(l, "[Expert Info (Warn") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		t.Errorf("tshark reports %d problems, first: %s", len(bad), strings.Join(bad[:min(len(bad), 4)], "; "))
	}
	t.Logf("tshark: %d frames, %d decoded as VRRPv%d, %d correct checksums (pcap %s)", len(frames), decoded, version, correct, file)
	if decoded != len(frames) || correct != len(frames) || versions != len(frames) {
		t.Errorf("tshark decoded %d of %d frames as VRRP, %d as version %d, %d with a correct checksum; output:\n%s",
			decoded, len(frames), versions, version, correct, tail(string(out), 4000))
	}
}

// TestVRRPTshark runs one director of each implementation with a v2, a v3 IPv4 and
// a v3 IPv6 instance and has tshark check its adverts as the client captures them.
func TestVRRPTshark(t *testing.T) {
	for _, im := range []impl{implKeepalived, implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			v := newVRRPLab(t, 1)
			insts := []vrrpInst{
				{Name: "VI_2", Version: 2, VRID: 52, Priority: 200, VIPs: []netip.Prefix{vip4}},
				{Name: "VI_3", Version: 3, VRID: 53, Priority: 200, VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.101/24")}},
				{Name: "VI_6", Version: 3, VRID: 56, Priority: 200, VIPs: []netip.Prefix{vip6}},
			}
			d := newDirector(t, im, v.nodes[0], vrrpConfig{Instances: insts})
			d.start()
			for _, in := range insts {
				if err := v.cap.count(0, 3, eventTimeout, "adverts of "+in.Name, isVRRPFrom(d.node, in.VRID), nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, in := range insts {
				t.Run(in.Name, func(t *testing.T) {
					var frames []*frame
					for _, f := range v.cap.since(0) {
						if isVRRPFrom(d.node, in.VRID)(f) {
							frames = append(frames, f)
						}
					}
					tsharkCheck(t, frames, in.Version)
				})
			}
		})
	}
}
