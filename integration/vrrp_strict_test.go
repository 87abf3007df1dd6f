package integration

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// nftRuleset is `nft list ruleset` in n.
func nftRuleset(t testing.TB, n *netlab.Node) string {
	t.Helper()
	out, err := n.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: nft list ruleset: %v: %s", n.Name(), err, out)
	}
	return string(out)
}

// pings reports whether from gets an answer to a ping of addr (an IPv6
// link-local one with its %zone).
func pings(from *netlab.Node, addr string) bool {
	return from.Command("ping", "-n", "-q", "-c", "2", "-W", "1", addr).Run() == nil
}

// linkLocalVIP is the drill's IPv6 link-local VIP.
var linkLocalVIP = netip.MustParsePrefix("fe80::100/64")

// TestVRRPStrictNoAccept: a MASTER without accept mode (no_accept, or
// vrrp_strict, whose default it is) holds its VIP but drops the client's pings to
// it, through the nftables table it made; with accept the same MASTER
// answers and makes no table. The same holds for its IPv6 VIP and its IPv6
// link-local VIP (virtual_ipaddress_excluded), which the client still
// resolves (neighbour discovery passes). A table of someone else's is left alone,
// and after stop `nft list ruleset` shows only it. keepalived 2.2.7 runs
// the same drill as the reference.
func TestVRRPStrictNoAccept(t *testing.T) {
	for _, im := range []impl{implKeepalived, implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			drillStrictNoAccept(t, im)
		})
	}
}

func drillStrictNoAccept(t *testing.T, im impl) {
	v := newVRRPLab(t, 1)
	n := v.nodes[0]
	// Someone else's table, which must survive lvs-ha.
	theirs := n.Command("nft", "-f", "-")
	theirs.Stdin = strings.NewReader("table inet theirs {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n")
	if out, err := theirs.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	before := nftRuleset(t, n)

	for _, tc := range []struct {
		mode   string
		global []string
		extra  []string
		answer bool
	}{
		{"no_accept", []string{"nftables", "nftables_counters"}, []string{"no_accept"}, false},
		{"vrrp_strict", []string{"vrrp_strict"}, nil, false},
		{"accept", nil, []string{"accept"}, true},
	} {
		inst := fastInst(100)
		inst.Extra = tc.extra
		inst.ExcludedVIPs = []netip.Prefix{vip6, linkLocalVIP}
		d := newDirector(t, im, n, vrrpConfig{GlobalExtra: tc.global, Instances: []vrrpInst{inst}})
		d.start()
		waitSoleMaster(t, d, d)
		// The drop rule is in before the VIP is added (as keepalived does),
		// so it is there as soon as the VIP is.
		rules := nftRuleset(t, n)
		addrs := []string{vip4.Addr().String(), vip6.Addr().String(), linkLocalVIP.Addr().String() + "%" + v.client.IfName()}
		answered := make([]bool, len(addrs))
		var wg sync.WaitGroup
		for i, addr := range addrs {
			wg.Go(func() { answered[i] = pings(v.client, addr) })
		}
		wg.Wait()
		for i, addr := range addrs {
			if answered[i] != tc.answer {
				t.Errorf("%s: ping of the VIP %s answered %v, want %v; ruleset:\n%s", tc.mode, addr, answered[i], tc.answer, rules)
			}
		}
		for _, a := range []netip.Prefix{vip4, vip6, linkLocalVIP} {
			if has := strings.Contains(rules, a.Addr().String()); has == tc.answer {
				t.Errorf("%s: ruleset names the VIP %s %v, want %v:\n%s", tc.mode, a.Addr(), has, !tc.answer, rules)
			}
		}
		if counters := strings.Contains(rules, "counter packets"); tc.mode == "no_accept" && !counters {
			t.Errorf("%s: nftables_counters: no counter in the ruleset:\n%s", tc.mode, rules)
		}
		if !strings.Contains(rules, "table inet theirs") {
			t.Errorf("%s: their table is gone:\n%s", tc.mode, rules)
		}
		d.stop()
		err := netlab.WaitFor(eventTimeout, func() (bool, error) {
			return nftRuleset(t, n) == before, nil
		}, func() string {
			return fmt.Sprintf("%s: ruleset after stop\n%s\nwant\n%s", tc.mode, nftRuleset(t, n), before)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
