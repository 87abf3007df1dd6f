//go:build vm

package vmvmac

import (
	"bytes"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/mdlayher/packet"
)

// nftRuleset is `nft list ruleset` in n.
func nftRuleset(t *testing.T, n *netlab.Node) string {
	t.Helper()
	out, err := n.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: nft list ruleset: %v: %s", n.Name(), err, out)
	}
	return string(out)
}

// mldGroup is the group backupMLD joins on the backup's VMAC.
var mldGroup = netip.MustParseAddr("ff02::4c56:5348")

// backupMLD: the backup's IPv6 VMAC (vrrp.51) joins a group; its MLD
// report reaches the client with the backup's interface MAC, not the
// virtual MAC (the VMAC rules, keepalived's nft_add_vmac, moved it to the
// parent), and the rule's counter went up. Also the rules' tables hold
// the backup's VMACs (vrrp.51, IPv6; va.51, IPv4).
func backupMLD(t *testing.T, client, backup *netlab.Node, vmac string) {
	t.Helper()
	rs := nftRuleset(t, backup)
	for _, s := range []string{"table ip6 keepalived", `"vrrp.51" : "` + backup.IfName() + `"`, "table ip keepalived", `"va.51" : "` + backup.IfName() + `"`} {
		if !strings.Contains(rs, s) {
			t.Errorf("%s: the VMAC rules lack %q:\n%s", backup.Name(), s, rs)
		}
	}
	got := make(chan mldReport, 1)
	ready := make(chan struct{})
	go func() { got <- captureMLD(client, mldGroup, ready, 5*time.Second) }()
	<-ready
	var conn *net.UDPConn
	if err := backup.Do(func() error {
		ifi, err := net.InterfaceByName("vrrp.51")
		if err != nil {
			return err
		}
		conn, err = net.ListenMulticastUDP("udp6", ifi, &net.UDPAddr{IP: mldGroup.AsSlice(), Port: 5348})
		return err
	}); err != nil {
		t.Fatalf("%s: joining %v on vrrp.51: %v", backup.Name(), mldGroup, err)
	}
	defer conn.Close()
	r := <-got
	if r.err != nil {
		t.Fatalf("the client saw no MLD report for %v from %s: %v", mldGroup, backup.Name(), r.err)
	}
	if r.src != backup.MAC().String() {
		t.Errorf("%s's MLD report for %v from %s, want its interface's %s (not the virtual %s)", backup.Name(), mldGroup, r.src, backup.MAC(), vmac)
	}
	out, err := backup.Command("nft", "list", "chain", "ip6", "keepalived", "out").CombinedOutput()
	m := regexp.MustCompile(`mld2-listener-report.*counter packets (\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("%s: the MLD rule's counter: %v\n%s", backup.Name(), err, out)
	}
	if k, _ := strconv.Atoi(string(m[1])); k == 0 {
		t.Errorf("%s: the MLD rule counted no packet:\n%s", backup.Name(), out)
	}
	t.Logf("%s's MLD report for %v left from %s (rule: %s packets)", backup.Name(), mldGroup, r.src, m[1])
}

type mldReport struct {
	src string
	err error
}

// captureMLD returns the source MAC of the first MLDv2 report for group
// that n's interface receives within d; ready is closed once it listens.
func captureMLD(n *netlab.Node, group netip.Addr, ready chan struct{}, d time.Duration) mldReport {
	var r mldReport
	r.err = n.Do(func() error {
		defer func() {
			select {
			case <-ready:
			default:
				close(ready)
			}
		}()
		ifi, err := net.InterfaceByName(n.IfName())
		if err != nil {
			return err
		}
		c, err := packet.Listen(ifi, packet.Raw, 0x86dd, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
			return err
		}
		close(ready)
		buf := make([]byte, 1500)
		g := group.AsSlice()
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return err
			}
			// Hop-by-hop options, then ICMPv6 MLDv2 report (143).
			if k >= 90 && buf[20] == 0 && buf[54] == 58 && buf[62] == 143 && bytes.Contains(buf[70:k], g) {
				r.src = net.HardwareAddr(buf[6:12]).String()
				return nil
			}
		}
	})
	return r
}
