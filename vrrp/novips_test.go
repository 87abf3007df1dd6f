package vrrp

import (
	"testing"
	"time"
)

// TestNoVIPsVRRPv3: an instance without virtual addresses (keepalived 2.3's
// no_virtual_ipaddress) becomes MASTER and sends VRRPv3 adverts with an
// address count of 0, which encode and parse back; a backup with no VIPs
// follows them (the address lists, both empty, agree).
func TestNoVIPsVRRPv3(t *testing.T) {
	o := opts4(1, 150)
	o.Version, o.VIPs = 3, nil
	m := newMachine(t, o)
	m.Step(t0, Startup{})
	var adv *SendAdvert
	for _, a := range m.Step(t0.Add(m.MasterDownInterval()), Tick{}) {
		if s, ok := a.(SendAdvert); ok {
			adv = &s
		}
	}
	if m.State() != StateMaster || adv == nil || len(adv.Addrs) != 0 {
		t.Fatalf("state %v, advert %+v", m.State(), adv)
	}
	b, err := adv.Marshal(EncodeOptions{Src: o.PrimaryAddr, Dst: MulticastGroup4})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderLen || b[3] != 0 {
		t.Fatalf("advert %x: want %d bytes, count 0", b, HeaderLen)
	}
	d, err := Parse(b, RxInfo{Src: o.PrimaryAddr, Dst: MulticastGroup4, TTL: 255})
	if err != nil || d.Priority != 150 || len(d.Addrs) != 0 {
		t.Fatalf("parse: %+v, %v", d, err)
	}

	bo := opts4(2, 100)
	bo.Version, bo.VIPs = 3, nil
	bm := newMachine(t, bo)
	bm.Step(t0, Startup{})
	now := t0.Add(time.Second)
	bm.Step(now, AdvertReceived{Advertisement: d.Advertisement, From: o.PrimaryAddr})
	if bm.State() != StateBackup || bm.NextDeadline() != now.Add(bm.MasterDownInterval()) {
		t.Errorf("backup: state %v, down timer %v", bm.State(), bm.NextDeadline().Sub(now))
	}
}
