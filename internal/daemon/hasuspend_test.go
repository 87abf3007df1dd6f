package daemon

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// fakeAddrs is an addrWatcher the test drives.
type fakeAddrs chan func(map[netip.Addr]bool)

func (f fakeAddrs) watch(ctx context.Context, update func(map[netip.Addr]bool)) error {
	f <- update
	<-ctx.Done()
	return ctx.Err()
}

func haSuspendSrc(opt string) string {
	return `
virtual_server 192.0.2.1 80 {
    protocol TCP
    delay_loop 2
    warmup 0
    ` + opt + `
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
}`
}

// ha_suspend: the checks of a virtual server run only while its address is
// local. Without the address they are not run and the real server keeps its
// state (a failing real server is not taken out); the address's arrival
// resumes them at once. Without ha_suspend they run regardless.
func TestHASuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, haSuspendSrc("ha_suspend"))
		f := &fakeChecker{name: p.checks[0].ID}
		f.ok.Store(true)
		p.checks[0].Checker = f
		addrs := make(fakeAddrs, 1)
		lb := &logBuf{}
		l := newLVS(p, lvsOptions{
			Logger:    slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Open:      func() (ipvsKernel, error) { return &fakeKernel{Kernel: &ipvstest.Kernel{}}, nil },
			RunScript: func(script.Spec) {},
			Addrs:     addrs.watch,
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		update := <-addrs
		time.Sleep(10 * time.Second)
		if n := f.runs.Load(); n != 0 {
			t.Fatalf("%d checks ran without the virtual server's address", n)
		}
		update(map[netip.Addr]bool{netip.MustParseAddr("192.0.2.99"): true}) // another address
		time.Sleep(10 * time.Second)
		if n := f.runs.Load(); n != 0 {
			t.Fatalf("%d checks ran with only another address local", n)
		}
		update(map[netip.Addr]bool{netip.MustParseAddr("192.0.2.1"): true})
		synctest.Wait()
		if n := f.runs.Load(); n != 1 {
			t.Fatalf("%d checks ran at once when the address appeared, want 1", n)
		}
		time.Sleep(3 * time.Second)
		if n := f.runs.Load(); n != 2 {
			t.Fatalf("%d checks after a delay_loop, want 2", n)
		}
		update(map[netip.Addr]bool{})
		synctest.Wait()
		f.ok.Store(false)
		before := f.runs.Load()
		time.Sleep(20 * time.Second)
		if n := f.runs.Load(); n != before || strings.Contains(lb.String(), "real server down") {
			t.Fatalf("suspended: %d more checks, log:\n%s", n-before, lb)
		}
		if !strings.Contains(lb.String(), "suspending healthchecker") || !strings.Contains(lb.String(), "activating healthchecker") {
			t.Errorf("suspension not logged:\n%s", lb)
		}
		cancel()
		<-done

		// Without ha_suspend: checks run, no address watched.
		p = testPlan(t, haSuspendSrc(""))
		f = &fakeChecker{name: p.checks[0].ID}
		f.ok.Store(true)
		p.checks[0].Checker = f
		l = newLVS(p, lvsOptions{Open: func() (ipvsKernel, error) { return &fakeKernel{Kernel: &ipvstest.Kernel{}}, nil },
			RunScript: func(script.Spec) {}, Addrs: func(context.Context, func(map[netip.Addr]bool)) error {
				t.Error("addresses watched without ha_suspend")
				return nil
			}})
		ctx, cancel = context.WithCancel(t.Context())
		go func() { done <- l.Run(ctx) }()
		synctest.Wait()
		if f.runs.Load() != 1 {
			t.Errorf("without ha_suspend: %d checks at start, want 1", f.runs.Load())
		}
		cancel()
		<-done
	})
}

// netlinkAddrs, ha_suspend's address watcher, sees addresses added and
// removed in a network namespace, after those present when it started.
func TestHASuspendNetlinkAddrs(t *testing.T) {
	ns := netns.New(t)
	h := ns.Netlink(t) // only rtnetlink: the VM kernel has no xfrm_user
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	add := func(s string) {
		t.Helper()
		a, _ := netlink.ParseAddr(s)
		if err := h.AddrAdd(lo, a); err != nil {
			t.Fatal(err)
		}
	}
	add("192.0.2.1/32")
	nh := ns.Handle()
	sets := make(chan map[netip.Addr]bool, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go netlinkAddrs(&nh)(ctx, func(s map[netip.Addr]bool) { sets <- s })
	waitSet := func(what string, cond func(map[netip.Addr]bool) bool) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case s := <-sets:
				if cond(s) {
					return
				}
			case <-timeout:
				t.Fatalf("no address set %s", what)
			}
		}
	}
	a1, a2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	waitSet("with the existing 192.0.2.1", func(s map[netip.Addr]bool) bool { return s[a1] })
	add("192.0.2.2/32")
	waitSet("with the added 192.0.2.2", func(s map[netip.Addr]bool) bool { return s[a1] && s[a2] })
	if err := h.AddrDel(lo, &netlink.Addr{IPNet: &net.IPNet{IP: a1.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
	waitSet("without the removed 192.0.2.1", func(s map[netip.Addr]bool) bool { return !s[a1] && s[a2] })
}
