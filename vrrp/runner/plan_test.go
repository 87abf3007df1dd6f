package runner

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// describePlan renders a plan with the instances' names, one clause per
// change, for the table below.
func describePlan(old, next *config, p *plan) string {
	var out []string
	for i, ip := range p.insts {
		s := next.insts[i].Machine.Name + " " + [...]string{"unchanged", "reconfigured", "restarted", "added"}[ip.fate]
		if ip.old >= 0 && old.insts[ip.old].Machine.Name != next.insts[i].Machine.Name {
			s += " (was " + old.insts[ip.old].Machine.Name + ")"
		}
		for _, v := range ip.vipsGone {
			s += " -" + v.Prefix.String()
		}
		for _, v := range ip.vipsNew {
			s += " +" + v.Prefix.String()
		}
		for _, f := range []struct {
			on   bool
			what string
		}{{ip.newGARP, "garp"}, {ip.reannounce, "reannounce"}, {ip.primaryDropped, "-primary"}, {ip.primaryAdded, "+primary"}} {
			if f.on {
				s += " " + f.what
			}
		}
		if len(ip.ifaces) > 0 {
			s += fmt.Sprintf(" ifaces%v", ip.ifaces)
		}
		out = append(out, s)
	}
	names := func(c *config, idx []int) string {
		var s []string
		for _, i := range idx {
			s = append(s, c.insts[i].Machine.Name)
		}
		return strings.Join(s, " ")
	}
	if len(p.removed) > 0 {
		out = append(out, "removed "+names(old, p.removed))
	}
	if len(p.open) > 0 {
		out = append(out, "open for "+names(next, p.open))
	}
	for _, k := range p.close {
		f := strings.Split(k, "|")
		out = append(out, "close "+f[0]+" "+f[4])
	}
	if len(p.scripts) > 0 {
		out = append(out, fmt.Sprintf("scripts%v", p.scripts))
	}
	if len(p.groups) > 0 {
		out = append(out, fmt.Sprintf("groups%v", p.groups))
	}
	return strings.Join(out, "; ")
}

func TestDiff(t *testing.T) {
	type cfg struct {
		insts  []InstanceConfig
		groups []SyncGroupConfig
	}
	inst := func(name string, vrid uint8, mods ...func(*InstanceConfig)) InstanceConfig {
		ic := InstanceConfig{
			Machine:   vrrp.Options{Name: name, VRID: vrid, Priority: 100},
			Interface: "eth0",
			VIPs:      []vip.Address{{Prefix: netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", vrid))}},
		}
		for _, m := range mods {
			m(&ic)
		}
		return ic
	}
	prio := func(p uint8) func(*InstanceConfig) { return func(ic *InstanceConfig) { ic.Machine.Priority = p } }
	iface := func(n string) func(*InstanceConfig) { return func(ic *InstanceConfig) { ic.Interface = n } }
	vips := func(ps ...string) func(*InstanceConfig) {
		return func(ic *InstanceConfig) {
			ic.VIPs = nil
			for _, p := range ps {
				ic.VIPs = append(ic.VIPs, vip.Address{Prefix: netip.MustParsePrefix(p)})
			}
		}
	}
	peers := func(ps ...string) func(*InstanceConfig) {
		return func(ic *InstanceConfig) {
			for _, p := range ps {
				ic.Machine.UnicastPeers = append(ic.Machine.UnicastPeers, netip.MustParseAddr(p))
			}
		}
	}
	garpRepeat := func(n int) func(*InstanceConfig) {
		return func(ic *InstanceConfig) {
			g := garp.DefaultOptions()
			g.MasterRepeat = n
			ic.GARP = &g
		}
	}
	script := func(name string, iv time.Duration) func(*InstanceConfig) {
		return func(ic *InstanceConfig) {
			ic.TrackScripts = append(ic.TrackScripts, TrackScript{
				Script: track.ScriptConfig{Name: name, Interval: iv}, Command: Command{Argv: []string{"/" + name}}})
		}
	}
	trackIf := func(ns ...string) func(*InstanceConfig) {
		return func(ic *InstanceConfig) {
			for _, n := range ns {
				ic.TrackInterfaces = append(ic.TrackInterfaces, track.InterfaceConfig{Name: n})
			}
		}
	}
	noPrimary := func(ic *InstanceConfig) { ic.DontTrackPrimary = true }
	group := func(name string, members ...string) SyncGroupConfig {
		return SyncGroupConfig{Name: name, Members: members}
	}
	vi1, vi2 := inst("VI_1", 1), inst("VI_2", 2)

	tests := []struct {
		name      string
		old, next cfg
		want      string
	}{
		{name: "nothing to nothing", want: ""},
		{name: "start from nothing",
			next: cfg{insts: []InstanceConfig{vi1, vi2}},
			want: "VI_1 added; VI_2 added; open for VI_1"},
		{name: "identical",
			old:  cfg{insts: []InstanceConfig{vi1, vi2}},
			next: cfg{insts: []InstanceConfig{vi1, vi2}},
			want: "VI_1 unchanged; VI_2 unchanged"},
		{name: "priority and order",
			old:  cfg{insts: []InstanceConfig{vi1, vi2}},
			next: cfg{insts: []InstanceConfig{inst("VI_2", 2, prio(200)), vi1}},
			want: "VI_2 reconfigured; VI_1 unchanged"},
		{name: "renamed: the same VRID on the same interface is the same instance",
			old:  cfg{insts: []InstanceConfig{vi1}},
			next: cfg{insts: []InstanceConfig{inst("VI_9", 1)}},
			want: "VI_9 reconfigured (was VI_1)"},
		{name: "VIP changes announce the new set",
			old:  cfg{insts: []InstanceConfig{inst("VI_1", 1, vips("10.0.0.1/24", "10.0.0.2/24"))}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, vips("10.0.0.2/24", "10.0.0.3/24"))}},
			want: "VI_1 reconfigured -10.0.0.1/24 +10.0.0.3/24 reannounce"},
		{name: "GARP timing: new scheduler",
			old:  cfg{insts: []InstanceConfig{vi1}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, garpRepeat(2))}},
			want: "VI_1 reconfigured garp reannounce"},
		{name: "the default GARP timing given explicitly is no change",
			old:  cfg{insts: []InstanceConfig{vi1}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, garpRepeat(garp.DefaultOptions().MasterRepeat))}},
			want: "VI_1 unchanged"},
		{name: "removed in the old order, added in the new",
			old:  cfg{insts: []InstanceConfig{inst("VI_3", 3), vi1, vi2}},
			next: cfg{insts: []InstanceConfig{inst("VI_5", 5), vi1, inst("VI_4", 4)}},
			want: "VI_5 added; VI_1 unchanged; VI_4 added; removed VI_3 VI_2"},
		{name: "an instance on a new interface needs a socket",
			old:  cfg{insts: []InstanceConfig{vi1}},
			next: cfg{insts: []InstanceConfig{vi1, inst("VI_2", 2, iface("eth1")), inst("VI_3", 3, iface("eth1"))}},
			want: "VI_1 unchanged; VI_2 added; VI_3 added; open for VI_2"},
		{name: "moving to another interface is another instance",
			old:  cfg{insts: []InstanceConfig{vi1}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, iface("eth1"))}},
			want: "VI_1 added; removed VI_1; open for VI_1; close eth0 []"},
		{name: "a new unicast peer moves the socket",
			old:  cfg{insts: []InstanceConfig{inst("VI_1", 1, peers("10.0.0.2"))}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, peers("10.0.0.2", "10.0.0.3"))}},
			want: "VI_1 reconfigured; open for VI_1; close eth0 [10.0.0.2]"},
		{name: "a shared socket stays while one instance uses it",
			old:  cfg{insts: []InstanceConfig{vi1, vi2}},
			next: cfg{insts: []InstanceConfig{vi2}},
			want: "VI_2 unchanged; removed VI_1"},
		{name: "a new sync group restarts its members",
			old:  cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)}},
			next: cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)}, groups: []SyncGroupConfig{group("G", "VI_1", "VI_2")}},
			want: "VI_1 restarted; VI_2 restarted; VI_3 unchanged; groups[-1]"},
		{name: "a group's notify scripts change nothing",
			old: cfg{insts: []InstanceConfig{vi1, vi2}, groups: []SyncGroupConfig{group("G", "VI_1", "VI_2")}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, prio(50)), vi2}, groups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"},
				Notify: NotifyScripts{Master: &Command{Argv: []string{"/m"}}}}}},
			want: "VI_1 reconfigured; VI_2 unchanged; groups[0]"},
		{name: "a member joins: the whole group restarts",
			old:  cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)}, groups: []SyncGroupConfig{group("G", "VI_1", "VI_2")}},
			next: cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)}, groups: []SyncGroupConfig{group("G", "VI_1", "VI_2", "VI_3")}},
			want: "VI_1 restarted; VI_2 restarted; VI_3 restarted; groups[-1]"},
		{name: "a group renamed restarts, another group is kept",
			old: cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)},
				groups: []SyncGroupConfig{group("G", "VI_1"), group("H", "VI_2", "VI_3")}},
			next: cfg{insts: []InstanceConfig{vi1, vi2, inst("VI_3", 3)},
				groups: []SyncGroupConfig{group("H", "VI_2", "VI_3"), group("K", "VI_1")}},
			want: "VI_1 restarted; VI_2 unchanged; VI_3 unchanged; groups[1 -1]"},
		{name: "scripts with the same definition keep their tracker",
			old: cfg{insts: []InstanceConfig{inst("VI_1", 1, script("a", time.Second), script("b", time.Second)),
				inst("VI_2", 2, script("b", time.Second))}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, script("c", time.Second), script("b", time.Second)),
				inst("VI_2", 2, script("b", time.Second), script("a", 2*time.Second))}},
			want: "VI_1 reconfigured; VI_2 reconfigured; scripts[-1 1 -1]"},
		{name: "an explicit default script interval is the same definition",
			old:  cfg{insts: []InstanceConfig{inst("VI_1", 1, script("a", 0))}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, script("a", track.DefaultInterval))}},
			want: "VI_1 reconfigured; scripts[0]"},
		{name: "track_interface and dont_track_primary",
			old:  cfg{insts: []InstanceConfig{inst("VI_1", 1, trackIf("eth1", "eth2")), inst("VI_2", 2, noPrimary)}},
			next: cfg{insts: []InstanceConfig{inst("VI_1", 1, noPrimary, trackIf("eth2", "eth3")), inst("VI_2", 2)}},
			want: "VI_1 reconfigured -primary ifaces[1 -1]; VI_2 reconfigured +primary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, err := parse(tc.old.insts, tc.old.groups)
			if err != nil {
				t.Fatalf("old: %v", err)
			}
			next, err := parse(tc.next.insts, tc.next.groups)
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			if got := describePlan(old, next, diff(old, next)); got != tc.want {
				t.Errorf("plan\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
