package vrrp

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ipPacket wraps a VRRP message in an IPv4 or IPv6 header with TTL 255.
func ipPacket(src, dst netip.Addr, msg []byte) []byte {
	if src.Is4() {
		h := make([]byte, 20)
		h[0], h[1] = 0x45, 0xc0
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(msg)))
		h[8], h[9] = TTL, IPProtocol
		copy(h[12:], src.AsSlice())
		copy(h[16:], dst.AsSlice())
		binary.BigEndian.PutUint16(h[10:], refChecksum(h))
		return append(h, msg...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(msg)))
	h[6], h[7] = IPProtocol, TTL
	copy(h[8:], src.AsSlice())
	copy(h[24:], dst.AsSlice())
	return append(h, msg...)
}

// writePcap writes raw-IP (LINKTYPE_RAW) packets in classic pcap format.
func writePcap(t *testing.T, path string, pkts ...[]byte) {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)     // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)     // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 101)   // LINKTYPE_RAW
	for i, p := range pkts {
		b = binary.LittleEndian.AppendUint32(b, uint32(1700000000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTsharkChecksums has Wireshark's VRRP dissector verify our checksums.
func TestTsharkChecksums(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	pass, _ := PassAuthData("1111")
	type pkt struct {
		adv      Advertisement
		src, dst netip.Addr
	}
	normal := []pkt{
		{Advertisement{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: addrs("192.168.200.16")}, src4, MulticastGroup4},
		{Advertisement{Version: 2, VRID: 51, Priority: 0, Interval: 3 * time.Second, Addrs: addrs("192.168.200.16", "10.0.0.1"), AuthType: AuthPass, AuthData: pass}, src4, MulticastGroup4},
		{Advertisement{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.100")}, src4, MulticastGroup4},
		{Advertisement{Version: 3, VRID: 2, Priority: 254, Interval: 40950 * time.Millisecond, Addrs: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")}, src4, peer4},
		{Advertisement{Version: 3, VRID: 7, Priority: 200, Interval: 500 * time.Millisecond, Addrs: addrs("2001:db8::100", "2001:db8::101")}, src6, MulticastGroup6},
	}
	asV2 := []pkt{
		{Advertisement{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.100")}, src4, MulticastGroup4},
		{Advertisement{Version: 3, VRID: 3, Priority: 1, Interval: 10 * time.Millisecond, Addrs: addrs("192.0.2.7")}, src4, peer4},
	}
	run := func(name string, pkts []pkt, asv2 bool) {
		t.Run(name, func(t *testing.T) {
			var raw [][]byte
			for _, p := range pkts {
				msg, err := p.adv.Marshal(EncodeOptions{Src: p.src, Dst: p.dst, V3ChecksumAsV2: asv2})
				if err != nil {
					t.Fatal(err)
				}
				raw = append(raw, ipPacket(p.src, p.dst, msg))
			}
			file := filepath.Join(t.TempDir(), "vrrp.pcap")
			writePcap(t, file, raw...)
			pref := "vrrp.v3_checksum_as_in_v2:FALSE"
			if asv2 {
				pref = "vrrp.v3_checksum_as_in_v2:TRUE"
			}
			cmd := exec.Command(tshark, "-n", "-r", file, "-V", "-o", pref, "-o", "ip.check_checksum:TRUE")
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tshark: %v\n%s", err, out)
			}
			var correct, ipCorrect int
			for _, l := range strings.Split(string(out), "\n") {
				l = strings.TrimSpace(l)
				if strings.HasPrefix(l, "Checksum: 0x") && strings.HasSuffix(l, "[correct]") {
					correct++
				}
				if strings.HasPrefix(l, "Header Checksum: 0x") && strings.HasSuffix(l, "[correct]") {
					ipCorrect++
				}
				if strings.Contains(l, "incorrect") || strings.Contains(l, "Malformed") {
					t.Errorf("tshark: %s", l)
				}
			}
			// The IPv4 header checksums check the pcap itself.
			want4 := 0
			for _, p := range pkts {
				if p.src.Is4() {
					want4++
				}
			}
			if correct != len(pkts) || ipCorrect != want4 {
				t.Errorf("tshark reported %d correct VRRP and %d IP checksums, want %d and %d\n%s", correct, ipCorrect, len(pkts), want4, out)
			}
		})
	}
	run("rfc", normal, false)
	run("v3_checksum_as_v2", asV2, true)
}
