package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
)

// eventLog records the VMAC manager's and the firewall's calls in order.
type eventLog struct{ events []string }

func (l *eventLog) take() []string { e := l.events; l.events = nil; return e }

type logVMACs struct{ l *eventLog }

func (v logVMACs) Apply(next []vmac.Spec) error {
	var n []string
	for _, s := range next {
		n = append(n, s.Name)
	}
	v.l.events = append(v.l.events, "vmacs "+strings.Join(n, ","))
	return nil
}

type logVMACFW struct {
	l *eventLog
	o strictfw.Options
}

func (f logVMACFW) SetVMACs(_ context.Context, vs []strictfw.VMAC) error {
	var n []string
	for _, v := range vs {
		n = append(n, fmt.Sprintf("%s@%s/%v", v.Name, v.Parent, v.IPv6))
	}
	f.l.events = append(f.l.events, "nft "+f.o.Table+" "+strings.Join(n, ","))
	return nil
}

// The rules of a VMAC are set before it is made and go after it is
// removed; a configuration without VMACs never runs nft; a VMAC whose
// parent is missing gets no rule (nft could not resolve the parent); at
// stop the tables are deleted; a new table name moves the rules.
func TestVMACFirewallOrder(t *testing.T) {
	l := &eventLog{}
	opts := strictfw.Options{Table: "keepalived", Priority: -1}
	v := newVMACFirewall(logVMACs{l}, func() strictfw.Options { return opts }, nil)
	v.newFW = func(o strictfw.Options) strictfw.VMACFirewall { return logVMACFW{l, o} }
	v.exists = func(n string) bool { return n != "missing" }
	spec := func(name, parent string, ipv6 bool) vmac.Spec {
		return vmac.Spec{Name: name, Parent: parent, IPv6: ipv6, MAC: vmac.MAC(51, ipv6)}
	}
	a, b := spec("vrrp.51", "eth0", false), spec("vrrp6.52", "eth1", true)
	for _, step := range []struct {
		next []vmac.Spec
		want []string
	}{
		{nil, []string{"vmacs "}},
		{[]vmac.Spec{a}, []string{"nft keepalived vrrp.51@eth0/false", "vmacs vrrp.51"}},
		{[]vmac.Spec{a, b, spec("vrrp.9", "missing", false)}, []string{"nft keepalived vrrp.51@eth0/false,vrrp6.52@eth1/true", "vmacs vrrp.51,vrrp6.52,vrrp.9"}},
		{[]vmac.Spec{b}, []string{"vmacs vrrp6.52", "nft keepalived vrrp6.52@eth1/true"}},
		{nil, []string{"vmacs ", "nft keepalived "}},
		{nil, []string{"vmacs "}},
		{[]vmac.Spec{b}, []string{"nft keepalived vrrp6.52@eth1/true", "vmacs vrrp6.52"}},
	} {
		if err := v.Apply(step.next); err != nil {
			t.Fatal(err)
		}
		if got := l.take(); !slices.Equal(got, step.want) {
			t.Errorf("Apply(%d VMACs): %q, want %q", len(step.next), got, step.want)
		}
	}
	opts.Table = "lvs-ha"
	if err := v.Apply([]vmac.Spec{b}); err != nil {
		t.Fatal(err)
	}
	if got, want := l.take(), []string{"nft keepalived ", "nft lvs-ha vrrp6.52@eth1/true", "vmacs vrrp6.52"}; !slices.Equal(got, want) {
		t.Errorf("after the table's rename: %q, want %q", got, want)
	}
}

// The rules follow global_defs nftables and nftables_priority.
func TestVMACFirewallOpts(t *testing.T) {
	got := vmacFirewallOpts(conf.GlobalDefs{Nftables: "t", NftablesPriority: 3, NftablesCounters: true})
	if want := (strictfw.Options{Table: "t", Priority: 3}); got != want {
		t.Errorf("vmacFirewallOpts = %+v, want %+v", got, want)
	}
}
