package integration

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/netns"
)

// reload rewrites the director's configuration, sends SIGHUP and waits for
// lvs-ha to report the reload; it returns the log mark from before the
// signal and the reload's log lines.
func (d *director) reload() (int, string) {
	d.t.Helper()
	if d.impl != implLVSHA {
		d.t.Fatalf("%v: reload drills are for lvs-ha", d)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "keepalived.conf"), []byte(d.cfg.String()), 0o644); err != nil {
		d.t.Fatal(err)
	}
	mark := d.mark()
	if err := d.proc.Signal(syscall.SIGHUP); err != nil {
		d.t.Fatalf("%v: SIGHUP: %v", d, err)
	}
	var lines string
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		var b strings.Builder
		for _, ln := range d.log.snapshot(mark) {
			b.WriteString(ln.Text + "\n")
			if strings.Contains(ln.Text, "msg=reloaded") {
				lines = b.String()
				return true, nil
			}
			if strings.Contains(ln.Text, `msg="reload failed`) {
				return false, fmt.Errorf("%v: %s", d, ln.Text)
			}
		}
		return false, nil
	}, func() string { return fmt.Sprintf("%v to reload", d) })
	if err != nil {
		d.t.Fatal(err)
	}
	return mark, lines
}

// instance returns a pointer to the director's instance name.
func (d *director) instance(name string) *vrrpInst {
	for i := range d.cfg.Instances {
		if d.cfg.Instances[i].withDefaults().Name == name {
			return &d.cfg.Instances[i]
		}
	}
	d.t.Fatalf("%v: no instance %s", d, name)
	return nil
}

// transitions lists the state changes the director logged after mark.
func (d *director) transitions(mark int) []string {
	var out []string
	for _, ln := range d.log.snapshot(mark) {
		if in, st, ok := stateOf(d.impl, ln.Text); ok {
			out = append(out, in+"->"+st)
		}
	}
	return out
}

// TestVRRPReload: SIGHUP on an lvs-ha master changes one of its two
// instances while the peer (lvs-ha or keepalived) runs unchanged. The
// unchanged instance keeps its state and advert rhythm on the wire and is
// not re-announced; the changed one keeps MASTER and advertises its new
// priority at once and adds and announces a new address; a removed instance hands over with
// priority 0; a lowered priority hands over to the peer.
func TestVRRPReload(t *testing.T) {
	netns.RequireRoot(t)
	for _, peer := range []impl{implLVSHA, implKeepalived} {
		t.Run("peer-"+string(peer), func(t *testing.T) {
			requireImpls(t, implLVSHA, peer)
			testVRRPReload(t, peer)
		})
	}
}

func testVRRPReload(t *testing.T, peer impl) {
	const advert = 500 * time.Millisecond
	vipB1 := netip.MustParsePrefix("192.0.2.101/24")
	vipB2 := netip.MustParsePrefix("192.0.2.102/24")
	insts := func(prio int) []vrrpInst {
		return []vrrpInst{
			{Name: "VI_1", VRID: 51, Version: 3, AdvertInt: advert, Priority: prio, VIPs: []netip.Prefix{vip4}},
			{Name: "VI_2", VRID: 52, Version: 3, AdvertInt: advert, Priority: prio, VIPs: []netip.Prefix{vipB1}},
		}
	}
	v := newVRRPLab(t, 2)
	a := newDirector(t, implLVSHA, v.nodes[0], vrrpConfig{Instances: insts(150)})
	b := newDirector(t, peer, v.nodes[1], vrrpConfig{Instances: insts(100)})
	startAll(b, a)
	waitSoleMaster(t, a, a, b)
	for _, d := range []*director{a, b} {
		want := map[*director]string{a: "MASTER", b: "BACKUP"}[d]
		if _, err := d.waitState("VI_2", want, 0, eventTimeout); err != nil {
			t.Fatal(err)
		}
	}
	// Let the start-up settle (a state MASTER start logs BACKUP then MASTER).
	if err := v.cap.count(v.cap.mark(), 3, eventTimeout, "VI_1 adverts from lvs1", isVRRPFrom(a.node, 51), nil); err != nil {
		t.Fatal(err)
	}

	// 1. VI_2 gets priority 200 and a second, not advertised, address
	// (an advertised one would need the peer's configuration changed too:
	// keepalived and lvs-ha drop adverts whose address list differs); VI_1
	// is unchanged.
	capMark, markB := v.cap.mark(), b.mark()
	a.instance("VI_2").Priority = 200
	a.instance("VI_2").ExcludedVIPs = []netip.Prefix{vipB2}
	markA, lines := a.reload()
	if !strings.Contains(lines, "unchanged=[VI_1]") || !strings.Contains(lines, "reconfigured=[VI_2]") {
		t.Errorf("reload log does not say VI_1 unchanged, VI_2 reconfigured:\n%s", lines)
	}
	f, err := v.cap.wait(capMark, eventTimeout, "VI_2 advert with priority 200", func(f *frame) bool {
		return isVRRPFrom(a.node, 52)(f) && f.Priority == 200
	})
	if err != nil {
		t.Fatal(err)
	}
	// The new address is up and announced.
	if _, err := v.cap.wait(capMark, eventTimeout, "GARP for 192.0.2.102", isAnnounceFrom(a.node, vipB2.Addr())); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.node.HasAddr(vipB2.Addr()); !ok {
		t.Error("192.0.2.102 not on lvs1 after the reload")
	}
	// Watch a few more adverts of both instances.
	if err := v.cap.count(capMark, 6, eventTimeout, "VI_1 adverts from lvs1", isVRRPFrom(a.node, 51),
		func(f *frame) bool { return f.Kind == kindVRRP && f.Priority == 0 }); err != nil {
		t.Fatal(err)
	}
	frames := v.cap.since(capMark - 4)
	var last time.Time
	var gaps []time.Duration
	for _, fr := range frames {
		if !isVRRPFrom(a.node, 51)(fr) {
			continue
		}
		if !last.IsZero() {
			gaps = append(gaps, fr.At.Sub(last))
		}
		last = fr.At
		if isAnnounceFrom(a.node, vip4.Addr())(fr) {
			t.Errorf("VI_1's address re-announced: %v", fr)
		}
	}
	for _, fr := range v.cap.since(capMark) {
		if isAnnounceFrom(a.node, vip4.Addr())(fr) {
			t.Errorf("VI_1's address re-announced after the reload: %v", fr)
		}
	}
	// VI_1 keeps its rhythm: no advert early or late around the reload
	// (a restart would show an extra advert or a gap). Bounds are half an
	// interval either way, not a timing measurement.
	for _, g := range gaps {
		if g < advert/2 || g > advert*3/2 {
			t.Errorf("VI_1 advert gap %v around the reload (interval %v); gaps %v", g, advert, gaps)
			break
		}
	}
	t.Logf("VI_1 advert gaps around the reload: %v; VI_2's first advert with priority 200 at %v", gaps, f.At.Format("15:04:05.000"))
	if tr := a.transitions(markA); len(tr) != 0 {
		t.Errorf("lvs1 transitions after the reload: %v", tr)
	}
	if tr := b.transitions(markB); len(tr) != 0 {
		t.Errorf("%v transitions after lvs1's reload: %v", b, tr)
	}

	// 2. VI_2 removed from lvs1: priority 0, the peer takes VI_2 over, VI_1 stays.
	capMark, markB = v.cap.mark(), b.mark()
	a.cfg.Instances = a.cfg.Instances[:1]
	markA, lines = a.reload()
	if !strings.Contains(lines, "removed=[VI_2]") {
		t.Errorf("reload log does not say VI_2 removed:\n%s", lines)
	}
	if _, err := v.cap.wait(capMark, eventTimeout, "VI_2 priority 0 from lvs1", func(f *frame) bool {
		return isVRRPFrom(a.node, 52)(f) && f.Priority == 0
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.waitState("VI_2", "MASTER", markB, eventTimeout); err != nil {
		t.Fatal(err)
	}
	for _, p := range []netip.Prefix{vipB1, vipB2} {
		if ok, _ := a.node.HasAddr(p.Addr()); ok {
			t.Errorf("%v still on lvs1 after VI_2 was removed", p)
		}
	}
	if tr := b.transitions(markB); len(tr) != 1 {
		t.Errorf("%v transitions: %v, want VI_2->MASTER only", b, tr)
	}
	if tr := a.transitions(markA); len(tr) != 1 || tr[0] != "VI_2->INIT" {
		t.Errorf("lvs1 transitions after removing VI_2: %v, want VI_2->INIT only", tr)
	}

	// 3. VI_1's priority lowered below the peer's: the peer preempts.
	markB = b.mark()
	a.instance("VI_1").Priority = 50
	markA, _ = a.reload()
	if _, err := b.waitState("VI_1", "MASTER", markB, eventTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waitState("VI_1", "BACKUP", markA, eventTimeout); err != nil {
		t.Fatal(err)
	}
	waitSoleMaster(t, b, a, b)
}
