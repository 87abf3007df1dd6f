package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// bigTable returns n services with m masq destinations each.
func bigTable(n, m int) ipvs.Table {
	var t ipvs.Table
	for i := range n {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		s := ipvs.Service{Key: ipvs.AddrKey(ipvs.TCP, netip.AddrPortFrom(vip, 80)), Scheduler: "wrr"}
		for j := range m {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
			s.Destinations = append(s.Destinations, ipvs.Destination{Addr: rip, Port: uint16(8000 + j), Weight: int32(j + 1)})
		}
		t.Services = append(t.Services, s)
	}
	return t
}

func TestReconcileIdempotent(t *testing.T) {
	k := &ipvstest.Kernel{}
	ctx := context.Background()
	desired := bigTable(100, 10)
	ch, err := ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServicesAdded != 100 || ch.DestsAdded != 1000 || ch.Total() != 1100 {
		t.Fatalf("first apply: %v", ch)
	}
	if c := k.Calls(); c.Total() != 1100 {
		t.Fatalf("first apply calls = %+v", c)
	}
	k.ResetCalls()
	ch, err = ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{})
	if err != nil || ch.Total() != 0 || k.Calls().Total() != 0 {
		t.Fatalf("second apply: %v, calls %+v, err %v", ch, k.Calls(), err)
	}
	desired.Services[42].Destinations[3].Weight = 77
	ch, err = ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{})
	if err != nil || ch.Total() != 1 || ch.DestsUpdated != 1 || k.Calls().UpdateDest != 1 {
		t.Fatalf("weight change: %v, calls %+v, err %v", ch, k.Calls(), err)
	}
}

func vip(s string) netip.Addr { return netip.MustParseAddr(s) }

func key(p ipvs.Protocol, ap string) ipvs.ServiceKey {
	return ipvs.AddrKey(p, netip.MustParseAddrPort(ap))
}

func TestReconcileChanges(t *testing.T) {
	web := key(ipvs.TCP, "10.0.0.1:80")
	dns6 := key(ipvs.UDP, "[fd00::1]:53")
	fwm := ipvs.FWMarkKey(ipvs.FamilyIPv4, 7)
	foreign := key(ipvs.TCP, "192.0.2.1:443")
	base := func() ipvs.Table {
		return ipvs.Table{Services: []ipvs.Service{
			{Key: web, Scheduler: "rr", Destinations: []ipvs.Destination{
				{Addr: vip("10.0.0.2"), Port: 8080, Weight: 1},
				{Addr: vip("10.0.0.3"), Port: 8080, Weight: 1, Method: ipvs.DR}, // port forced to 80
			}},
			{Key: dns6, Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: 64, Destinations: []ipvs.Destination{
				{Addr: vip("fd00::2"), Port: 53, Weight: 2, Method: ipvs.Tunnel, TunType: ipvs.TunnelGUE, TunPort: 6080},
			}},
			{Key: fwm, Scheduler: "mh", Flags: ipvs.FlagMHPort, Destinations: []ipvs.Destination{
				{Addr: vip("10.0.0.4"), Weight: 1, Method: ipvs.DR},
			}},
		}}
	}
	tests := []struct {
		name   string
		opts   ipvs.ReconcileOptions
		mutate func(*ipvs.Table)
		want   ipvs.Changes
		left   bool // foreign service still present
	}{
		{name: "nothing", left: true},
		{name: "scheduler", mutate: func(t *ipvs.Table) { t.Services[0].Scheduler = "wlc" },
			want: ipvs.Changes{ServicesUpdated: 1}, left: true},
		{name: "persistence timeout", mutate: func(t *ipvs.Table) { t.Services[1].Timeout = 60 },
			want: ipvs.Changes{ServicesUpdated: 1}, left: true},
		{name: "sched flag", mutate: func(t *ipvs.Table) { t.Services[2].Flags |= ipvs.FlagMHFallback },
			want: ipvs.Changes{ServicesUpdated: 1}, left: true},
		{name: "default scheduler spelled out", mutate: func(t *ipvs.Table) { t.Services[1].Scheduler = "wlc" }, left: true},
		{name: "threshold", mutate: func(t *ipvs.Table) { t.Services[0].Destinations[0].UpperThreshold = 100 },
			want: ipvs.Changes{DestsUpdated: 1}, left: true},
		{name: "tunnel port", mutate: func(t *ipvs.Table) { t.Services[1].Destinations[0].TunPort = 6081 },
			want: ipvs.Changes{DestsUpdated: 1}, left: true},
		{name: "method masq to dr changes port", mutate: func(t *ipvs.Table) { t.Services[0].Destinations[0].Method = ipvs.DR },
			want: ipvs.Changes{DestsDeleted: 1, DestsAdded: 1}, left: true},
		{name: "method dr to tunnel", mutate: func(t *ipvs.Table) { t.Services[0].Destinations[1].Method = ipvs.Tunnel },
			want: ipvs.Changes{DestsUpdated: 1}, left: true},
		{name: "dest port", mutate: func(t *ipvs.Table) { t.Services[0].Destinations[0].Port = 8081 },
			want: ipvs.Changes{DestsDeleted: 1, DestsAdded: 1}, left: true},
		{name: "remove dest", mutate: func(t *ipvs.Table) { t.Services[0].Destinations = t.Services[0].Destinations[:1] },
			want: ipvs.Changes{DestsDeleted: 1}, left: true},
		{name: "remove service unowned", mutate: func(t *ipvs.Table) { t.Services = t.Services[1:] },
			want: ipvs.Changes{}, left: true},
		{name: "remove service owned", mutate: func(t *ipvs.Table) { t.Services = t.Services[1:] },
			opts: ipvs.ReconcileOptions{Owned: func(k ipvs.ServiceKey) bool { return k == web }},
			want: ipvs.Changes{ServicesDeleted: 1}, left: true},
		{name: "flush", opts: ipvs.ReconcileOptions{Flush: true}, want: ipvs.Changes{ServicesDeleted: 1}},
		{name: "add service", mutate: func(t *ipvs.Table) {
			t.Services = append(t.Services, ipvs.Service{Key: key(ipvs.SCTP, "10.0.0.9:0"), Flags: ipvs.FlagPersistent,
				Destinations: []ipvs.Destination{{Addr: vip("10.0.0.10"), Weight: 1}}})
		}, want: ipvs.Changes{ServicesAdded: 1, DestsAdded: 1}, left: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			k := &ipvstest.Kernel{}
			if err := k.NewService(ipvs.Service{Key: foreign}); err != nil {
				t.Fatal(err)
			}
			if _, err := ipvs.Reconcile(ctx, k, base(), ipvs.ReconcileOptions{}); err != nil {
				t.Fatal(err)
			}
			desired := base()
			if tc.mutate != nil {
				tc.mutate(&desired)
			}
			k.ResetCalls()
			ch, err := ipvs.Reconcile(ctx, k, desired, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if ch != tc.want {
				t.Errorf("changes = %v, want %v", ch, tc.want)
			}
			if got := k.Calls().Total(); got != tc.want.Total() {
				t.Errorf("kernel calls = %d, want %d", got, tc.want.Total())
			}
			tab, _ := k.Table()
			if got := tab.Service(foreign) != nil; got != tc.left {
				t.Errorf("foreign service present = %v, want %v", got, tc.left)
			}
			// Converged: a second pass is a no-op.
			ch, err = ipvs.Reconcile(ctx, k, desired, tc.opts)
			if err != nil || ch.Total() != 0 {
				t.Errorf("second pass: %v, %v", ch, err)
			}
		})
	}
}

func TestReconcileBadDesired(t *testing.T) {
	tests := []struct {
		name string
		s    ipvs.Service
	}{
		{"no family", ipvs.Service{Key: ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: vip("10.0.0.1"), Port: 80}}},
		{"family mismatch", ipvs.Service{Key: ipvs.ServiceKey{Family: ipvs.FamilyIPv6, Protocol: ipvs.TCP, Addr: vip("10.0.0.1"), Port: 80}}},
		{"bad scheduler", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:80"), Scheduler: "bogus"}},
		{"port 0 without persistence", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:0")}},
		{"weight", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:80"), Destinations: []ipvs.Destination{{Addr: vip("10.0.0.2"), Weight: 70000}}}},
		{"mixed family masq", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:80"), Destinations: []ipvs.Destination{{Addr: vip("fd00::2"), Weight: 1}}}},
		{"dup dest after port forcing", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:80"), Destinations: []ipvs.Destination{
			{Addr: vip("10.0.0.2"), Port: 1, Method: ipvs.DR}, {Addr: vip("10.0.0.2"), Port: 2, Method: ipvs.DR}}}},
		{"netmask", ipvs.Service{Key: key(ipvs.TCP, "10.0.0.1:80"), Netmask: 33}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &ipvstest.Kernel{}
			_, err := ipvs.Reconcile(context.Background(), k, ipvs.Table{Services: []ipvs.Service{tc.s}}, ipvs.ReconcileOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if k.Calls().Total() != 0 {
				t.Errorf("made %d kernel calls", k.Calls().Total())
			}
		})
	}
}

func TestReconcileContinuesAfterError(t *testing.T) {
	k := &ipvstest.Kernel{FailOn: func(op string, sk ipvs.ServiceKey, d *ipvs.Destination) error {
		if op == "NewService" && sk.Addr == vip("10.1.0.1") {
			return syscall.ENOMEM
		}
		return nil
	}}
	ch, err := ipvs.Reconcile(context.Background(), k, bigTable(3, 2), ipvs.ReconcileOptions{})
	if !errors.Is(err, syscall.ENOMEM) {
		t.Fatalf("err = %v, want ENOMEM", err)
	}
	if ch.ServicesAdded != 2 || ch.DestsAdded != 4 {
		t.Errorf("changes = %v", ch)
	}
}

func TestReconcileCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := &ipvstest.Kernel{}
	_, err := ipvs.Reconcile(ctx, k, bigTable(2, 2), ipvs.ReconcileOptions{})
	if !errors.Is(err, context.Canceled) || k.Calls().Total() != 0 {
		t.Fatalf("err = %v, calls %d", err, k.Calls().Total())
	}
}

func BenchmarkPlan(b *testing.B) {
	desired, err := ipvs.Normalize(bigTable(1000, 10))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ops := ipvs.Plan(desired, desired, ipvs.ReconcileOptions{}); len(ops) != 0 {
			b.Fatal(fmt.Sprint(len(ops)))
		}
	}
}

// batching is an ipvs.Batcher over the fake kernel that records its batches.
type batching struct {
	*ipvstest.Kernel
	batches [][]ipvs.Op
}

func (b *batching) ApplyOps(ops []ipvs.Op) []error {
	b.batches = append(b.batches, slices.Clone(ops))
	errs := make([]error, len(ops))
	for i, op := range ops {
		errs[i] = ipvs.ApplyOp(b.Kernel, op)
	}
	return errs
}

// With a Batcher, Reconcile gives the same changes and errors (in plan
// order) as one call per op: the destinations of added services go in a
// later batch, after the service's add succeeded, and none of a service
// whose add failed is tried.
func TestReconcileBatchesLikeSequential(t *testing.T) {
	failOn := func(op string, sk ipvs.ServiceKey, d *ipvs.Destination) error {
		switch {
		case op == "NewService" && (sk.Addr == vip("10.1.0.7") || sk.Addr == vip("10.1.0.150")):
			return syscall.ENOMEM
		case op == "NewDestination" && d.Port == 8001 && sk.Addr == vip("10.1.0.9"):
			return syscall.EINVAL
		}
		return nil
	}
	seq := &ipvstest.Kernel{FailOn: failOn}
	b := &batching{Kernel: &ipvstest.Kernel{FailOn: failOn}}
	desired := bigTable(200, 3)
	wantCh, wantErr := ipvs.Reconcile(context.Background(), seq, desired, ipvs.ReconcileOptions{})
	ch, err := ipvs.Reconcile(context.Background(), b, desired, ipvs.ReconcileOptions{})
	if ch != wantCh || err == nil || wantErr == nil || err.Error() != wantErr.Error() {
		t.Fatalf("batched: %v, %v\nsequential: %v, %v", ch, err, wantCh, wantErr)
	}
	if ch.ServicesAdded != 198 || ch.DestsAdded != 198*3-1 {
		t.Errorf("changes %v", ch)
	}
	if b.Calls() != seq.Calls() {
		t.Errorf("batched calls %+v, sequential %+v", b.Calls(), seq.Calls())
	}
	var sizes []int
	servicesDone := false
	for _, batch := range b.batches {
		sizes = append(sizes, len(batch))
		for _, op := range batch {
			switch {
			case op.Kind == ipvs.OpAddService && servicesDone:
				t.Fatalf("service add after destination adds: %v", op)
			case op.Kind == ipvs.OpAddDest:
				servicesDone = true
				if op.Service.Key.Addr == vip("10.1.0.7") {
					t.Errorf("destination of a failed service: %v", op)
				}
			}
		}
	}
	if !slices.Equal(sizes, []int{128, 72, 128, 128, 128, 128, 82}) {
		t.Errorf("batch sizes %v", sizes)
	}
}

// BenchmarkReconcile is the control plane at 10,000 services x 10 real
// servers against the in-memory kernel: the first apply (110,000 changes),
// the re-apply of the unchanged table (none) and one weight change (one).
func BenchmarkReconcile(b *testing.B) {
	desired := bigTable(10000, 10)
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			k := &ipvstest.Kernel{}
			if ch, err := ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{}); err != nil || ch.Total() != 110000 {
				b.Fatal(ch, err)
			}
		}
	})
	k := &ipvstest.Kernel{}
	if _, err := ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Run("unchanged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ch, err := ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{}); err != nil || ch.Total() != 0 {
				b.Fatal(ch, err)
			}
		}
	})
	b.Run("one-weight", func(b *testing.B) {
		w := int32(1)
		for b.Loop() {
			w = 100 - w
			desired.Services[4242].Destinations[3].Weight = w
			if ch, err := ipvs.Reconcile(ctx, k, desired, ipvs.ReconcileOptions{}); err != nil || ch.DestsUpdated != 1 || ch.Total() != 1 {
				b.Fatal(ch, err)
			}
		}
	})
}

// listOrder returns the destinations of the only service of k in the
// kernel's list order.
func listOrder(t *testing.T, k ipvs.Kernel) []string {
	t.Helper()
	tab, err := k.Table()
	if err != nil || len(tab.Services) != 1 {
		t.Fatalf("table %+v, err %v", tab, err)
	}
	var out []string
	for _, d := range tab.Services[0].Destinations {
		out = append(out, d.AddrPort().String())
	}
	return out
}

// A real server added by a reload to an mh, sh or dh service ends at the
// same place of the kernel's destination list as after a fresh start with
// it (the kernel builds their lookup tables walking the list), by deleting
// and re-adding only the destinations after the first out-of-place one; an
// rr service gets the plain addition.
func TestReconcileOrderSensitiveMatchesFreshStart(t *testing.T) {
	svc := func(sched string, rs ...string) ipvs.Table {
		s := ipvs.Service{Key: key(ipvs.TCP, "192.0.2.1:80"), Scheduler: sched}
		for _, r := range rs {
			s.Destinations = append(s.Destinations, ipvs.Destination{
				Addr: vip(r), Port: 80, Method: ipvs.DR, Weight: 1})
		}
		return ipvs.Table{Services: []ipvs.Service{s}}
	}
	const a, b, c, d = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"
	for _, tc := range []struct {
		name       string
		sched      string
		from, to   []string
		del, added int // destination deletions and additions of the reload
	}{
		{"middle", "mh", []string{a, c}, []string{a, b, c}, 1, 2},
		{"first", "sh", []string{b, c}, []string{a, b, c}, 2, 3},
		{"last", "mh", []string{a, b}, []string{a, b, c}, 0, 1},
		{"remove and add", "dh", []string{a, b, d}, []string{a, c, d}, 2, 2},
		{"remove only", "mh", []string{a, b, c}, []string{a, c}, 1, 0},
		{"scheduler change", "mh", []string{a, c}, []string{a, b, c}, 2, 3},
		{"rr unchanged", "rr", []string{a, c}, []string{a, b, c}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fresh := &ipvstest.Kernel{}
			if _, err := ipvs.Reconcile(ctx, fresh, svc(tc.sched, tc.to...), ipvs.ReconcileOptions{}); err != nil {
				t.Fatal(err)
			}
			reloaded := &ipvstest.Kernel{}
			from := svc(tc.sched, tc.from...)
			if tc.name == "scheduler change" {
				// Under rr, c then a: the list is a, c and an mh
				// fresh start's is c, b, a.
				if _, err := ipvs.Reconcile(ctx, reloaded, svc("rr", c), ipvs.ReconcileOptions{}); err != nil {
					t.Fatal(err)
				}
				from = svc("rr", tc.from...)
			}
			if _, err := ipvs.Reconcile(ctx, reloaded, from, ipvs.ReconcileOptions{}); err != nil {
				t.Fatal(err)
			}
			ch, err := ipvs.Reconcile(ctx, reloaded, svc(tc.sched, tc.to...), ipvs.ReconcileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ch.DestsDeleted != tc.del || ch.DestsAdded != tc.added || ch.DestsUpdated != 0 {
				t.Errorf("reload changes %v, want %d deleted, %d added", ch, tc.del, tc.added)
			}
			got, want := listOrder(t, reloaded), listOrder(t, fresh)
			if tc.sched != "rr" && !slices.Equal(got, want) {
				t.Errorf("list after reload %v, after fresh start %v", got, want)
			}
			ch, err = ipvs.Reconcile(ctx, reloaded, svc(tc.sched, tc.to...), ipvs.ReconcileOptions{})
			if err != nil || ch.Total() != 0 {
				t.Errorf("second reload: %v, err %v", ch, err)
			}
		})
	}
}
