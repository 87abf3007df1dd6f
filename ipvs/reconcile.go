package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ReconcileOptions tune Reconcile and Plan.
type ReconcileOptions struct {
	// Owned reports whether a kernel service that is not in the desired
	// table belongs to lvs-ha (and is deleted). Services in the desired
	// table are always owned, destinations included. Nil owns nothing
	// beyond the desired table.
	Owned func(ServiceKey) bool
	// Flush deletes every service that is not desired, owned or not
	// (keepalived's lvs_flush).
	Flush bool
	// InPlace lets Reconcile normalize the desired table in place (see
	// Normalize: its services and destinations are changed and sorted)
	// instead of copying it; for a caller that builds the table for the
	// call (8 MB at 10,000 services x 10 destinations).
	InPlace bool
}

// OpKind is the kind of a planned kernel change.
type OpKind uint8

const (
	OpAddService OpKind = iota + 1
	OpUpdateService
	OpDelService
	OpAddDest
	OpUpdateDest
	OpDelDest
)

func (k OpKind) String() string {
	switch k {
	case OpAddService:
		return "add-service"
	case OpUpdateService:
		return "update-service"
	case OpDelService:
		return "del-service"
	case OpAddDest:
		return "add-dest"
	case OpUpdateDest:
		return "update-dest"
	case OpDelDest:
		return "del-dest"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one kernel change. Service carries the full settings for service
// ops (without destinations) and the key for destination ops.
type Op struct {
	Kind    OpKind
	Service Service
	Dest    Destination // destination ops only
}

func (o Op) String() string {
	switch o.Kind {
	case OpAddDest, OpUpdateDest, OpDelDest:
		return o.Kind.String() + " " + o.Service.Key.String() + " -> " + o.Dest.AddrPort().String()
	}
	return o.Kind.String() + " " + o.Service.Key.String()
}

// Changes counts the kernel changes Reconcile made.
type Changes struct {
	ServicesAdded   int
	ServicesUpdated int
	ServicesDeleted int
	DestsAdded      int
	DestsUpdated    int
	DestsDeleted    int
}

// Total is the number of netlink changes.
func (c Changes) Total() int {
	return c.ServicesAdded + c.ServicesUpdated + c.ServicesDeleted + c.DestsAdded + c.DestsUpdated + c.DestsDeleted
}

func (c Changes) String() string {
	return fmt.Sprintf("services +%d ~%d -%d, destinations +%d ~%d -%d",
		c.ServicesAdded, c.ServicesUpdated, c.ServicesDeleted, c.DestsAdded, c.DestsUpdated, c.DestsDeleted)
}

func (c *Changes) count(k OpKind) {
	switch k {
	case OpAddService:
		c.ServicesAdded++
	case OpUpdateService:
		c.ServicesUpdated++
	case OpDelService:
		c.ServicesDeleted++
	case OpAddDest:
		c.DestsAdded++
	case OpUpdateDest:
		c.DestsUpdated++
	case OpDelDest:
		c.DestsDeleted++
	}
}

// Normalize returns a copy of the desired table in the form the kernel
// reports it: default scheduler and netmask filled in, kernel-owned flags
// cleared, stats cleared, and the port of DR/Tunnel/Local destinations of a
// port service set to the virtual port (the kernel forces it). It then
// validates the result.
func Normalize(t Table) (Table, error) { return normalize(t, false) }

// normalize is Normalize, in t's own memory when inPlace.
func normalize(t Table, inPlace bool) (Table, error) {
	out := t
	if !inPlace {
		out = Table{Services: make([]Service, len(t.Services))}
	}
	for i, s := range t.Services {
		s.Scheduler = s.SchedulerName()
		s.Netmask = uint8(s.NetmaskBits())
		s.Flags &^= FlagHashed
		s.Stats = nil
		s.Key.Addr = s.Key.Addr.Unmap()
		ds := s.Destinations
		if !inPlace {
			ds = make([]Destination, len(s.Destinations))
		}
		for j, d := range s.Destinations {
			d.Addr = d.Addr.Unmap()
			if !s.Key.IsFWMark() && d.Method != Masq {
				d.Port = s.Key.Port
			}
			if d.Method != Tunnel {
				d.TunType, d.TunPort, d.TunFlags = 0, 0, 0
			}
			d.Stats = nil
			ds[j] = d
		}
		s.Destinations = ds
		out.Services[i] = s
	}
	if err := out.Validate(); err != nil {
		return Table{}, err
	}
	out.Sort()
	return out, nil
}

func serviceSettingsEqual(a, b *Service) bool {
	return a.Scheduler == b.Scheduler && a.Flags&flagsUser == b.Flags&flagsUser &&
		a.Timeout == b.Timeout && a.Netmask == b.Netmask && a.PEName == b.PEName
}

func destSettingsEqual(want, got *Destination) bool {
	if want.Method != got.Method || want.Weight != got.Weight ||
		want.UpperThreshold != got.UpperThreshold || want.LowerThreshold != got.LowerThreshold {
		return false
	}
	if want.Method == Tunnel {
		return want.TunType == got.TunType && want.TunPort == got.TunPort && want.TunFlags == got.TunFlags
	}
	return true
}

// Plan computes the kernel changes that turn actual into desired, in the
// order to apply them: service deletions, then per desired service its
// add/update and destination deletions, updates and additions. desired must
// come from Normalize. Services not desired are deleted only if owned (or
// with Flush); destinations of desired services are fully managed. The
// destinations of an actual service that desired gives an order-sensitive
// scheduler (see OrderSensitive) must be in the kernel's list order: Plan
// then deletes and re-adds those needed for the list to be the one a fresh
// start makes, so that two directors agree whatever their reload history.
func Plan(actual, desired Table, opts ReconcileOptions) []Op {
	// Size ops for the additions of whole services (a first apply of
	// 10,000 x 10 is 110,000 ops of ~190 bytes: growing the slice by
	// doubling copied as much again).
	have := make(map[ServiceKey]bool, len(actual.Services))
	for i := range actual.Services {
		have[actual.Services[i].Key] = true
	}
	n := 0
	for i := range desired.Services {
		if !have[desired.Services[i].Key] {
			n += 1 + len(desired.Services[i].Destinations)
		}
	}
	ops := make([]Op, 0, n)
	planOps(actual, desired, opts, func(op Op) bool {
		ops = append(ops, op)
		return true
	})
	return ops
}

// planOps is Plan handing each op to yield as it is planned, until yield
// returns false: Reconcile applies them in chunks instead of holding the
// whole plan (21 MB for the 110,000 ops of a first apply at 10,000 x 10).
func planOps(actual, desired Table, opts ReconcileOptions, yield func(Op) bool) {
	want := make(map[ServiceKey]*Service, len(desired.Services))
	for i := range desired.Services {
		want[desired.Services[i].Key] = &desired.Services[i]
	}
	have := make(map[ServiceKey]*Service, len(actual.Services))
	for i := range actual.Services {
		have[actual.Services[i].Key] = &actual.Services[i]
	}
	for i := range actual.Services {
		s := &actual.Services[i]
		if want[s.Key] != nil {
			continue
		}
		if opts.Flush || (opts.Owned != nil && opts.Owned(s.Key)) {
			if !yield(Op{Kind: OpDelService, Service: Service{Key: s.Key}}) {
				return
			}
		}
	}
	var adds []Op
	for i := range desired.Services {
		w := &desired.Services[i]
		settings := *w
		settings.Destinations = nil
		h := have[w.Key]
		if h == nil {
			if !yield(Op{Kind: OpAddService, Service: settings}) {
				return
			}
			for _, d := range w.Destinations {
				if !yield(Op{Kind: OpAddDest, Service: Service{Key: w.Key}, Dest: d}) {
					return
				}
			}
			continue
		}
		if !serviceSettingsEqual(w, h) {
			if !yield(Op{Kind: OpUpdateService, Service: settings}) {
				return
			}
		}
		haveDests := make(map[netip.AddrPort]*Destination, len(h.Destinations))
		for j := range h.Destinations {
			haveDests[h.Destinations[j].AddrPort()] = &h.Destinations[j]
		}
		wantDests := make(map[netip.AddrPort]bool, len(w.Destinations))
		for _, d := range w.Destinations {
			wantDests[d.AddrPort()] = true
		}
		for _, d := range h.Destinations {
			if !wantDests[d.AddrPort()] {
				if !yield(Op{Kind: OpDelDest, Service: Service{Key: w.Key}, Dest: Destination{Addr: d.Addr, Port: d.Port}}) {
					return
				}
			}
		}
		var readd map[netip.AddrPort]bool
		if OrderSensitive(w.Scheduler) {
			readd = reorder(h.Destinations, w.Destinations, wantDests)
			for _, d := range h.Destinations {
				if readd[d.AddrPort()] {
					if !yield(Op{Kind: OpDelDest, Service: Service{Key: w.Key}, Dest: Destination{Addr: d.Addr, Port: d.Port}}) {
						return
					}
				}
			}
		}
		adds = adds[:0]
		for _, d := range w.Destinations {
			hd := haveDests[d.AddrPort()]
			switch {
			case hd == nil || readd[d.AddrPort()]:
				adds = append(adds, Op{Kind: OpAddDest, Service: Service{Key: w.Key}, Dest: d})
			case !destSettingsEqual(&d, hd):
				if !yield(Op{Kind: OpUpdateDest, Service: Service{Key: w.Key}, Dest: d}) {
					return
				}
			}
		}
		for _, op := range adds {
			if !yield(op) {
				return
			}
		}
	}
}

// OrderSensitive reports whether the kernel's lookup table for scheduler
// depends on the order of the service's destination list: mh, sh and dh
// build it walking the list. The kernel inserts a new destination at the
// head of the list (list_add_rcu in __ip_vs_update_dest) and dumps the list
// from the head, so the list is the reverse of the order of the additions.
func OrderSensitive(scheduler string) bool {
	return scheduler == "mh" || scheduler == "sh" || scheduler == "dh"
}

// reorder returns the live destinations to delete and re-add so that,
// after Plan's deletions and additions, the kernel's list order of an
// order-sensitive service equals the one a fresh start gives: the additions
// of desired (sorted) in order, that is the list in reverse desired order.
// live is in the kernel's list order (newest first); keep holds the
// destinations desired. Only the live ones from the first out-of-place
// position of the insertion order are re-added; none when the kept ones
// are already a prefix of desired (the additions then append in order).
//
// A deleted destination with connections goes to the kernel's trash and the
// re-add takes it back from there (ip_vs_trash_get_dest), with its
// connections, which point at it and keep forwarding meanwhile; one
// without connections is simply new again.
func reorder(live, desired []Destination, keep map[netip.AddrPort]bool) map[netip.AddrPort]bool {
	var added []netip.AddrPort // kept live destinations, oldest first
	for i := len(live) - 1; i >= 0; i-- {
		if ap := live[i].AddrPort(); keep[ap] {
			added = append(added, ap)
		}
	}
	k := 0
	for k < len(added) && added[k] == desired[k].AddrPort() {
		k++
	}
	if k == len(added) {
		return nil
	}
	readd := make(map[netip.AddrPort]bool, len(added)-k)
	for _, ap := range added[k:] {
		readd[ap] = true
	}
	return readd
}

// ApplyOp performs one planned change on k.
func ApplyOp(k Kernel, op Op) error {
	switch op.Kind {
	case OpAddService:
		return k.NewService(op.Service)
	case OpUpdateService:
		return k.UpdateService(op.Service)
	case OpDelService:
		return k.DelService(op.Service.Key)
	case OpAddDest:
		return k.NewDestination(op.Service.Key, op.Dest)
	case OpUpdateDest:
		return k.UpdateDestination(op.Service.Key, op.Dest)
	case OpDelDest:
		return k.DelDestination(op.Service.Key, op.Dest)
	}
	return fmt.Errorf("ipvs: unknown op kind %d", op.Kind)
}

// Batcher is a Kernel that applies many ops in one exchange (Netlink does:
// one sendmsg per batch); Reconcile uses it when the Kernel has it.
type Batcher interface {
	// ApplyOps applies ops in order, going on after a failed one, and
	// returns the error of each (nil if it succeeded), as ApplyOp on each
	// would.
	ApplyOps(ops []Op) []error
}

// settingsReader is a Kernel that reads its table faster without the stats,
// which Reconcile does not compare (Netlink).
type settingsReader interface {
	settings() (Table, error)
}

// batchSize bounds the ops of one batch: the kernel's error replies to a
// batch (up to ~1 KiB of receive buffer each) must fit the socket's receive
// buffer, and the requests (under 200 bytes each) its send buffer.
const batchSize = 128

// maxErrors bounds the errors Reconcile collects.
const maxErrors = 20

// sortForPlan sorts the services of actual (the kernel's order varies: plan
// deletions in a stable one) and the destinations of each, except those of
// services that desired gives an order-sensitive scheduler: Plan needs their
// kernel list order.
func sortForPlan(actual *Table, desired Table) {
	sensitive := make(map[ServiceKey]bool)
	for i := range desired.Services {
		if OrderSensitive(desired.Services[i].Scheduler) {
			sensitive[desired.Services[i].Key] = true
		}
	}
	slices.SortFunc(actual.Services, func(a, b Service) int { return a.Key.Compare(b.Key) })
	for i := range actual.Services {
		if s := &actual.Services[i]; !sensitive[s.Key] {
			slices.SortFunc(s.Destinations, func(a, b Destination) int {
				return a.AddrPort().Compare(b.AddrPort())
			})
		}
	}
}

// chunkOps is the number of planned ops Reconcile holds and applies at a
// time (32 batches): the plan is made as it is applied, so that a large
// apply holds ~800 KB of ops instead of all of them.
const chunkOps = 32 * batchSize

// Reconcile reads the kernel table, plans the changes to reach desired and
// applies them. It keeps going after a failed change (skipping the
// destinations of a service it failed to add) and returns the changes that
// succeeded with the errors joined, in plan order. Calling it again with the
// same desired table makes no change.
//
// The plan is made and applied chunkOps ops at a time. Each chunk is applied
// in batches (see Batcher): first every op but the destination additions of
// services added in the chunk, then those of the services whose addition
// succeeded.
func Reconcile(ctx context.Context, k Kernel, desired Table, opts ReconcileOptions) (Changes, error) {
	want, err := normalize(desired, opts.InPlace)
	if err != nil {
		return Changes{}, fmt.Errorf("ipvs: desired table: %w", err)
	}
	read := k.Table
	if sr, ok := k.(settingsReader); ok {
		read = sr.settings
	}
	actual, err := read()
	if err != nil {
		return Changes{}, fmt.Errorf("ipvs: read kernel table: %w", err)
	}
	sortForPlan(&actual, want)
	r := reconciler{k: k, failed: map[ServiceKey]bool{}}
	chunk := make([]Op, 0, chunkOps)
	var ctxErr error
	planOps(actual, want, opts, func(op Op) bool {
		chunk = append(chunk, op)
		if len(chunk) < chunkOps {
			return true
		}
		ctxErr = r.apply(ctx, chunk)
		chunk = chunk[:0]
		return ctxErr == nil
	})
	if ctxErr == nil && len(chunk) > 0 {
		ctxErr = r.apply(ctx, chunk)
	}
	errs := r.errs
	if ctxErr != nil {
		errs = append(errs, ctxErr)
	}
	if len(errs) == 0 {
		return r.ch, nil
	}
	return r.ch, errors.Join(slices.Clip(errs)...)
}

// reconciler applies Reconcile's chunks of ops, adding up their outcome.
type reconciler struct {
	k      Kernel
	ch     Changes
	errs   []error             // the first maxErrors, in plan order
	failed map[ServiceKey]bool // services whose addition failed
	// Per chunk, reused.
	added      map[ServiceKey]int // index of the op adding a service
	now, later []int
	res        []error
	done       []bool
	batch      []Op
}

// apply applies the chunk ops (a part of the plan, in order): first every
// op but the destination additions of services added in the chunk, then
// those of the services whose addition succeeded. Destination additions of
// a service whose addition failed in an earlier chunk are skipped. It stops
// when ctx is done, returning its error.
func (r *reconciler) apply(ctx context.Context, ops []Op) error {
	if r.added == nil {
		r.added = make(map[ServiceKey]int)
	}
	clear(r.added)
	r.now, r.later = r.now[:0], r.later[:0]
	for i, op := range ops {
		if op.Kind == OpAddDest {
			if _, ok := r.added[op.Service.Key]; ok {
				r.later = append(r.later, i)
				continue
			}
			if r.failed[op.Service.Key] {
				continue
			}
		}
		if op.Kind == OpAddService {
			r.added[op.Service.Key] = i
		}
		r.now = append(r.now, i)
	}
	r.res = slices.Grow(r.res[:0], len(ops))[:len(ops)]
	r.done = slices.Grow(r.done[:0], len(ops))[:len(ops)]
	clear(r.res)
	clear(r.done)
	ctxErr := r.applyOps(ctx, ops, r.now)
	if ctxErr == nil {
		r.later = slices.DeleteFunc(r.later, func(i int) bool { return r.res[r.added[ops[i].Service.Key]] != nil })
		ctxErr = r.applyOps(ctx, ops, r.later)
	}
	for key, i := range r.added {
		if r.res[i] != nil {
			r.failed[key] = true
		}
	}
	for i, op := range ops {
		switch {
		case !r.done[i]:
		case r.res[i] == nil:
			r.ch.count(op.Kind)
		case len(r.errs) < maxErrors:
			r.errs = append(r.errs, fmt.Errorf("%s: %w", op, r.res[i]))
		}
	}
	return ctxErr
}

// applyOps applies ops[i] for i in idx on the kernel, batchSize at a time,
// setting res[i] and done[i]. It stops when ctx is done, returning its
// error.
func (r *reconciler) applyOps(ctx context.Context, ops []Op, idx []int) error {
	b, _ := r.k.(Batcher)
	for len(idx) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(idx), batchSize)
		r.batch = r.batch[:0]
		for _, i := range idx[:n] {
			r.batch = append(r.batch, ops[i])
		}
		var errs []error
		if b != nil {
			errs = b.ApplyOps(r.batch)
		} else {
			for _, op := range r.batch {
				errs = append(errs, ApplyOp(r.k, op))
			}
		}
		for j, i := range idx[:n] {
			r.res[i], r.done[i] = errs[j], true
		}
		idx = idx[n:]
	}
	return nil
}
