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

// The groups backupReport joins on the backup's VMAC.
var (
	mldGroup  = netip.MustParseAddr("ff02::4c56:5348")
	igmpGroup = netip.MustParseAddr("239.76.86.72")
)

// backupReport: the backup's VMAC (vrrp.51) joins a group; its MLD (IPv6)
// or IGMP (IPv4) report reaches the client with the backup's interface
// MAC, not the virtual MAC (the VMAC rules, keepalived's nft_add_vmac,
// moved it to the parent), and the rule's counter went up. Also the rules'
// tables hold the backup's VMACs (tables is what the ruleset must hold).
func backupReport(t *testing.T, client, backup *netlab.Node, ipv6 bool, vmac string, tables ...string) {
	t.Helper()
	rs := nftRuleset(t, backup)
	for _, s := range tables {
		if !strings.Contains(rs, s) {
			t.Errorf("%s: the VMAC rules lack %q:\n%s", backup.Name(), s, rs)
		}
	}
	group, network, proto, kind, fam, rule := igmpGroup, "udp4", 0x0800, "IGMP", "ip", `igmp`
	if ipv6 {
		group, network, proto, kind, fam, rule = mldGroup, "udp6", 0x86dd, "MLD", "ip6", `mld2-listener-report`
	}
	got := make(chan mcastReport, 1)
	ready := make(chan struct{})
	go func() { got <- captureReport(client, proto, group, ready, 5*time.Second) }()
	<-ready
	var conn *net.UDPConn
	if err := backup.Do(func() error {
		ifi, err := net.InterfaceByName("vrrp.51")
		if err != nil {
			return err
		}
		conn, err = net.ListenMulticastUDP(network, ifi, &net.UDPAddr{IP: group.AsSlice(), Port: 5348})
		return err
	}); err != nil {
		t.Fatalf("%s: joining %v on vrrp.51: %v", backup.Name(), group, err)
	}
	defer conn.Close()
	r := <-got
	if r.err != nil {
		t.Fatalf("the client saw no %s report for %v from %s: %v", kind, group, backup.Name(), r.err)
	}
	if r.src != backup.MAC().String() {
		t.Errorf("%s's %s report for %v from %s, want its interface's %s (not the virtual %s)", backup.Name(), kind, group, r.src, backup.MAC(), vmac)
	}
	out, err := backup.Command("nft", "list", "chain", fam, "keepalived", "out").CombinedOutput()
	m := regexp.MustCompile(rule + `.*counter packets (\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("%s: the %s rule's counter: %v\n%s", backup.Name(), kind, err, out)
	}
	if k, _ := strconv.Atoi(string(m[1])); k == 0 {
		t.Errorf("%s: the %s rule counted no packet:\n%s", backup.Name(), kind, out)
	}
	t.Logf("%s's %s report for %v left from %s (rule: %s packets)", backup.Name(), kind, group, r.src, m[1])
}

type mcastReport struct {
	src string
	err error
}

// captureReport returns the source MAC of the first MLDv2 (proto IPv6) or
// IGMP (IPv4) report for group that n's interface receives within d; ready
// is closed once it listens.
func captureReport(n *netlab.Node, proto int, group netip.Addr, ready chan struct{}, d time.Duration) mcastReport {
	var r mcastReport
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
		c, err := packet.Listen(ifi, packet.Raw, proto, nil)
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
			// IPv6: hop-by-hop options, then ICMPv6 MLDv2 report (143).
			// IPv4: protocol IGMP, a v2 (0x16) or v3 (0x22) report.
			mld := proto == 0x86dd && k >= 90 && buf[20] == 0 && buf[54] == 58 && buf[62] == 143 && bytes.Contains(buf[70:k], g)
			ihl := int(buf[14]&0x0f) * 4
			igmp := proto == 0x0800 && k >= 14+ihl+8 && buf[23] == 2 && (buf[14+ihl] == 0x16 || buf[14+ihl] == 0x22) && bytes.Contains(buf[14+ihl:k], g)
			if mld || igmp {
				r.src = net.HardwareAddr(buf[6:12]).String()
				return nil
			}
		}
	})
	return r
}
