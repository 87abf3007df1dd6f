package runner

import (
	"log/slog"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// The steady-state advert path (a master sending an advert every interval,
// a backup receiving one) must not allocate: an idle daemon then never
// needs a garbage collection, whose stop-the-world phases the VRRP thread
// would wait for when it comes back from ppoll (on a loaded machine, as
// long as the other threads take to be scheduled). The test drives the
// loop's round (iterate) and socket drain (drain) directly, as
// pollLoop does, with a socket that keeps nothing.

// quietConn is a Conn whose Send only counts.
type quietConn struct {
	src, dst netip.Addr
	sent     int
	last     []byte
	rx       vrrpsock.Packet // the next packet TryRecv returns
}

func (c *quietConn) SrcAddr() netip.Addr        { return c.src }
func (c *quietConn) Destinations() []netip.Addr { return []netip.Addr{c.dst} }
func (c *quietConn) Send(p []byte, _ netip.Addr) error {
	c.sent++
	c.last = append(c.last[:0], p...)
	return nil
}
func (c *quietConn) Recv([]byte) (vrrpsock.Packet, error) { select {} }

// The polled socket of pollLoop: TryRecv returns rx once.
func (c *quietConn) PollFd() int { return -1 }
func (c *quietConn) TryRecv(buf []byte) (vrrpsock.Packet, bool, error) {
	if c.rx.Payload == nil {
		return vrrpsock.Packet{}, false, nil
	}
	p := c.rx
	p.Payload = buf[:copy(buf, p.Payload)]
	c.rx.Payload = nil
	return p, true, nil
}
func (c *quietConn) Close() error { return nil }

type quietConns struct{ c *quietConn }

func (f quietConns) Open(vrrpsock.Config) (Conn, error) { return f.c, nil }

// steadyRunner returns a started Runner of one VRRPv3 instance with 10 ms
// adverts, stepped (by iterate, on a clock of its own) until it is in
// state want: master if alone long enough, else backup to adverts from
// 10.0.0.2 at priority 200. With shared, every interval also brings an
// advert of another router's VRID (52), as on a segment shared with
// another pair.
func steadyRunner(t testing.TB, want vrrp.State, shared bool) (*Runner, *quietConn, func()) {
	t.Helper()
	c := &quietConn{src: netip.MustParseAddr(addrA4), dst: vrrpsock.DefaultGroup4}
	r, err := New(Options{
		Instances: []InstanceConfig{{
			Machine:   vrrp.Options{Name: "VI_1", VRID: 51, Priority: 100, Version: 3, AdvertInterval: 10 * time.Millisecond},
			Interface: "eth0",
			VIPs:      []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		}},
		Conns:     quietConns{c},
		VIPs:      &fakeVIPs{present: map[string]bool{}},
		Announcer: &fakeAnnouncer{},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.open(); err != nil {
		t.Fatal(err)
	}
	r.begin()
	cs := r.conns[0]
	peer := netip.MustParseAddr(addrB4)
	adv := vrrp.Advertisement{Version: 3, VRID: 51, Priority: 200, Interval: 10 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	payload, err := adv.Marshal(vrrp.EncodeOptions{Src: peer, Dst: vrrpsock.DefaultGroup4})
	if err != nil {
		t.Fatal(err)
	}
	other := netip.MustParseAddr("10.0.0.3")
	adv.VRID = 52
	foreign, err := adv.Marshal(vrrp.EncodeOptions{Src: other, Dst: vrrpsock.DefaultGroup4})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	round := func() {
		r.now = r.now.Add(10 * time.Millisecond)
		if shared {
			c.rx = vrrpsock.Packet{Payload: foreign, Src: other, Dst: vrrpsock.DefaultGroup4, TTL: vrrp.TTL, IfIndex: 1}
			r.drain(cs, buf, unix.POLLIN)
		}
		if want == vrrp.StateBackup {
			c.rx = vrrpsock.Packet{Payload: payload, Src: peer, Dst: vrrpsock.DefaultGroup4, TTL: vrrp.TTL, IfIndex: 1}
			r.drain(cs, buf, unix.POLLIN)
		}
		r.iterate()
	}
	for range 200 {
		round()
	}
	if st := r.insts[0].m.State(); st != want {
		t.Fatalf("state %v after 2 s, want %v", st, want)
	}
	return r, c, round
}

func TestAdvertPathAllocs(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, want := range []vrrp.State{vrrp.StateMaster, vrrp.StateBackup} {
			name := want.String()
			if shared {
				name += "/shared"
			}
			t.Run(name, func(t *testing.T) {
				r, c, round := steadyRunner(t, want, shared)
				sent, rcvd, unknown := c.sent, r.insts[0].stats.AdvertsReceived, r.Snapshot().RxUnknownVRID
				allocs := testing.AllocsPerRun(100, round)
				if want == vrrp.StateMaster && c.sent == sent || want == vrrp.StateBackup && r.insts[0].stats.AdvertsReceived == rcvd {
					t.Fatalf("no advert sent or received: the test drives nothing")
				}
				if got := r.Snapshot().RxUnknownVRID - unknown; shared && got != 101 {
					t.Fatalf("Snapshot counts %d unknown VRIDs in 101 intervals", got)
				}
				if allocs != 0 {
					t.Errorf("%s: %.1f allocations per advert interval, want 0", name, allocs)
				}
			})
		}
	}
}

func BenchmarkAdvertPath(b *testing.B) {
	for _, want := range []vrrp.State{vrrp.StateMaster, vrrp.StateBackup} {
		b.Run(want.String(), func(b *testing.B) {
			_, _, round := steadyRunner(b, want, false)
			b.ReportAllocs()
			for b.Loop() {
				round()
			}
		})
	}
}

// TestSameInstanceStatsFields: publish skips a Stats that sameInstanceStats
// finds equal to the last, so it must compare every field but the hot
// counters (which Snapshot reads itself).
func TestSameInstanceStatsFields(t *testing.T) {
	hot := map[string]bool{"AdvertsSent": true, "AdvertsReceived": true}
	typ := reflect.TypeFor[InstanceStats]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		var a, b InstanceStats
		v := reflect.ValueOf(&b).Elem().Field(i)
		switch v.Kind() {
		case reflect.Map:
			v.Set(reflect.MakeMap(f.Type))
			v.SetMapIndex(reflect.New(f.Type.Key()).Elem(), reflect.ValueOf(uint64(1)))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(1)
		case reflect.Uint8, reflect.Uint64:
			v.SetUint(1)
		case reflect.Struct: // netip.Addr, time.Time
			switch f.Type {
			case reflect.TypeFor[netip.Addr]():
				v.Set(reflect.ValueOf(netip.MustParseAddr("10.0.0.1")))
			case reflect.TypeFor[time.Time]():
				v.Set(reflect.ValueOf(time.Unix(1, 0)))
			default:
				t.Fatalf("field %s: type %v not handled by the test", f.Name, f.Type)
			}
		default:
			t.Fatalf("field %s: kind %v not handled by the test", f.Name, v.Kind())
		}
		if got := sameInstanceStats(&a, &b); got != hot[f.Name] {
			t.Errorf("field %s differs: sameInstanceStats = %v, want %v", f.Name, got, hot[f.Name])
		}
	}
}
