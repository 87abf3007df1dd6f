package garp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Kind is the kind of announcement sent for a VIP.
type Kind uint8

const (
	// KindARP is a gratuitous ARP, sent for IPv4 VIPs.
	KindARP Kind = iota + 1
	// KindNA is an unsolicited IPv6 neighbour advertisement, sent for IPv6 VIPs.
	KindNA
)

// String returns "arp" or "na".
func (k Kind) String() string {
	switch k {
	case KindARP:
		return "arp"
	case KindNA:
		return "na"
	default:
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
}

// KindOf returns the announcement kind for addr: KindARP for IPv4
// (including IPv4-mapped IPv6), KindNA for IPv6.
func KindOf(addr netip.Addr) Kind {
	if addr.Unmap().Is4() {
		return KindARP
	}
	return KindNA
}

// VIP is a virtual address to announce, together with the interface that
// carries it. With keepalived's use_vmac the interface is the VMAC
// (macvlan) interface, so the announcement carries the VMAC.
type VIP struct {
	Interface string
	Addr      netip.Addr
}

func (v VIP) validate() error {
	switch {
	case v.Interface == "":
		return fmt.Errorf("vip %s: empty interface name", v.Addr)
	case !v.Addr.IsValid():
		return fmt.Errorf("vip on %s: invalid address", v.Interface)
	case v.Addr.IsUnspecified(), v.Addr.IsMulticast():
		return fmt.Errorf("vip %s on %s: not a unicast address", v.Addr, v.Interface)
	case v.Addr.Unmap().Is4() && v.Addr.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("vip %s on %s: not a unicast address", v.Addr, v.Interface)
	}
	return nil
}

// Announcement is one packet to send: a gratuitous ARP for an IPv4 Addr or
// an unsolicited neighbour advertisement for an IPv6 Addr, on Interface.
type Announcement struct {
	// At is when the packet is scheduled. Due returns announcements whose
	// At is not after its now; a late caller sends them at once.
	At        time.Time
	Interface string
	Addr      netip.Addr
}

// Kind reports whether a is a gratuitous ARP or a neighbour advertisement.
func (a Announcement) Kind() Kind { return KindOf(a.Addr) }

// Options are keepalived's GARP/NA timing settings for one VRRP instance.
// The zero value is NOT keepalived's default: start from DefaultOptions.
type Options struct {
	// MasterRepeat is garp_master_repeat: packets per VIP in each of the
	// two bursts sent on becoming master. 0 sends nothing.
	MasterRepeat int
	// MasterDelay is garp_master_delay: time from becoming master to the
	// second burst. 0 means no second burst.
	MasterDelay time.Duration

	// LowerPrioRepeat is garp_lower_prio_repeat: packets per VIP sent at
	// once, and again after LowerPrioDelay, when a master receives an
	// advert of lower priority. 0 disables this.
	LowerPrioRepeat int
	// LowerPrioDelay is garp_lower_prio_delay. 0 means no second burst.
	LowerPrioDelay time.Duration

	// MasterRefresh is garp_master_refresh: while master, send a burst
	// every MasterRefresh (counted from becoming master). 0 disables.
	MasterRefresh time.Duration
	// MasterRefreshRepeat is garp_master_refresh_repeat: packets per VIP
	// in each refresh burst.
	MasterRefreshRepeat int

	// ARPInterval is garp_interval: minimum spacing between two
	// gratuitous ARPs on one interface. 0 sends a burst at once.
	ARPInterval time.Duration
	// NAInterval is gna_interval: the same for neighbour advertisements.
	NAInterval time.Duration
}

// Keepalived's defaults (keepalived.conf(5), global_defs vrrp_garp_*).
const (
	DefaultMasterRepeat        = 5
	DefaultMasterDelay         = 5 * time.Second
	DefaultMasterRefreshRepeat = 1
)

// DefaultOptions returns keepalived's defaults: 5 packets per VIP on
// becoming master and 5 more 5 s later, the same on a lower-priority
// advert, no refresh, no spacing.
func DefaultOptions() Options {
	return Options{
		MasterRepeat:        DefaultMasterRepeat,
		MasterDelay:         DefaultMasterDelay,
		LowerPrioRepeat:     DefaultMasterRepeat,
		LowerPrioDelay:      DefaultMasterDelay,
		MasterRefreshRepeat: DefaultMasterRefreshRepeat,
	}
}

// Validate reports negative counts or durations.
func (o Options) Validate() error {
	var errs []error
	neg := func(name string, bad bool) {
		if bad {
			errs = append(errs, fmt.Errorf("garp options: %s must not be negative", name))
		}
	}
	neg("garp_master_repeat", o.MasterRepeat < 0)
	neg("garp_master_delay", o.MasterDelay < 0)
	neg("garp_lower_prio_repeat", o.LowerPrioRepeat < 0)
	neg("garp_lower_prio_delay", o.LowerPrioDelay < 0)
	neg("garp_master_refresh", o.MasterRefresh < 0)
	neg("garp_master_refresh_repeat", o.MasterRefreshRepeat < 0)
	neg("garp_interval", o.ARPInterval < 0)
	neg("gna_interval", o.NAInterval < 0)
	return errors.Join(errs...)
}

// burst is a pending trigger: at At, queue Repeat packets per VIP.
type burst struct {
	at     time.Time
	repeat int
}

// paceKey identifies one pacing queue: keepalived spaces ARPs and NAs
// separately, per interface.
type paceKey struct {
	iface string
	kind  Kind
}

// Scheduler decides when to send gratuitous ARPs / unsolicited NAs for the
// VIPs of one VRRP instance. It is pure: every method takes the current
// time from its caller, it starts no goroutine and does no I/O. It is not
// safe for concurrent use.
//
// Lifecycle: Start on becoming master, LowerPriority when the master
// receives a lower-priority advert, Stop on leaving master. Between calls,
// the caller sleeps until NextDeadline and then sends what Due returns.
//
// Differences from keepalived, by design: refresh bursts fall on the exact grid
// now+k*MasterRefresh (keepalived checks at advert time and re-arms from the send
// time) and missed periods are coalesced into one burst; pacing is per Scheduler
// (one VRRP instance), whereas keepalived's garp_group pacing is shared by all
// instances on an interface; the NOARP check is per VIP interface (Announcer
// returns ErrNoARP) rather than on the instance's interface.
type Scheduler struct {
	opts Options
	vips []VIP

	active  bool
	bursts  []burst   // pending one-shot bursts, any order
	refresh time.Time // next refresh burst; zero when none
	queue   []Announcement

	// next[k] is the earliest time the next packet of k may be queued
	// (last queued + interval); sent[k] the same counting only packets
	// already returned by Due, restored on Stop so that cancelled packets
	// do not hold back a later Start.
	next map[paceKey]time.Time
	sent map[paceKey]time.Time
}

// NewScheduler returns a stopped Scheduler using opts.
func NewScheduler(opts Options) (*Scheduler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Scheduler{
		opts: opts,
		next: make(map[paceKey]time.Time),
		sent: make(map[paceKey]time.Time),
	}, nil
}

// Options returns the options the Scheduler was built with.
func (s *Scheduler) Options() Options { return s.opts }

// Start is called when the instance becomes master at now, after its VIPs
// were added. It schedules a first burst of MasterRepeat packets per VIP at
// now, a second one at now+MasterDelay (if MasterDelay > 0) and, if
// MasterRefresh > 0, a burst of MasterRefreshRepeat every MasterRefresh
// after now. Within a burst packets go round-robin over vips in the given
// order (keepalived's order), spaced per interface by ARPInterval /
// NAInterval. Calling Start while active restarts the schedule. On invalid
// VIPs it returns an error and changes nothing.
func (s *Scheduler) Start(now time.Time, vips []VIP) error {
	cp := make([]VIP, 0, len(vips))
	for i, v := range vips {
		if err := v.validate(); err != nil {
			return fmt.Errorf("garp: vip #%d: %w", i, err)
		}
		cp = append(cp, VIP{Interface: v.Interface, Addr: v.Addr.Unmap()})
	}
	s.Stop()
	s.vips = cp
	s.active = true
	s.addBurst(now, s.opts.MasterRepeat, s.opts.MasterDelay)
	if len(cp) > 0 && s.opts.MasterRefresh > 0 && s.opts.MasterRefreshRepeat > 0 {
		s.refresh = now.Add(s.opts.MasterRefresh)
	}
	s.fire(now)
	return nil
}

// LowerPriority is called when the master receives an advert with a lower
// priority at now. Like keepalived it sends LowerPrioRepeat packets per VIP
// at once and again after LowerPrioDelay. Ignored when not active.
func (s *Scheduler) LowerPriority(now time.Time) {
	if !s.active {
		return
	}
	s.addBurst(now, s.opts.LowerPrioRepeat, s.opts.LowerPrioDelay)
	s.fire(now)
}

func (s *Scheduler) addBurst(now time.Time, repeat int, delay time.Duration) {
	if repeat <= 0 || len(s.vips) == 0 {
		return
	}
	s.bursts = append(s.bursts, burst{at: now, repeat: repeat})
	if delay > 0 {
		s.bursts = append(s.bursts, burst{at: now.Add(delay), repeat: repeat})
	}
}

// Stop cancels everything pending; called on leaving master. Pacing
// (garp_interval) keeps counting from the last packet Due returned.
func (s *Scheduler) Stop() {
	s.active = false
	s.vips = nil
	s.bursts = nil
	s.refresh = time.Time{}
	s.queue = nil
	clear(s.next)
	for k, t := range s.sent {
		s.next[k] = t
	}
}

// Due returns, in send order, the announcements scheduled at or before now
// and removes them from the Scheduler. The caller should send them at once.
func (s *Scheduler) Due(now time.Time) []Announcement {
	s.fire(now)
	n := 0
	for n < len(s.queue) && !s.queue[n].At.After(now) {
		n++
	}
	if n == 0 {
		return nil
	}
	out := slices.Clone(s.queue[:n])
	s.queue = slices.Delete(s.queue, 0, n)
	for _, a := range out {
		k := paceKey{a.Interface, a.Kind()}
		if iv := s.interval(k.kind); iv > 0 {
			s.sent[k] = a.At.Add(iv)
		}
	}
	return out
}

// fire expands every burst trigger due at now into queued packets, in
// trigger time order so that pacing is applied in that order.
func (s *Scheduler) fire(now time.Time) {
	for {
		at, idx, ok := s.nextTrigger()
		if !ok || at.After(now) {
			return
		}
		if idx >= 0 {
			b := s.bursts[idx]
			s.bursts = slices.Delete(s.bursts, idx, idx+1)
			s.expand(b.at, b.repeat)
			continue
		}
		s.expand(s.refresh, s.opts.MasterRefreshRepeat)
		// Missed periods (a late caller, a suspended host) are coalesced
		// into this one burst, as keepalived re-arms from the send time.
		for !s.refresh.After(now) {
			s.refresh = s.refresh.Add(s.opts.MasterRefresh)
		}
	}
}

// nextTrigger returns the earliest pending trigger: idx is an index into
// s.bursts, or -1 for the refresh timer. Ties go to one-shot bursts.
func (s *Scheduler) nextTrigger() (at time.Time, idx int, ok bool) {
	idx = -1
	for i, b := range s.bursts {
		if !ok || b.at.Before(at) {
			at, idx, ok = b.at, i, true
		}
	}
	if !s.refresh.IsZero() && (!ok || s.refresh.Before(at)) {
		at, idx, ok = s.refresh, -1, true
	}
	return at, idx, ok
}

func (s *Scheduler) interval(k Kind) time.Duration {
	if k == KindARP {
		return s.opts.ARPInterval
	}
	return s.opts.NAInterval
}

// expand queues repeat rounds over all VIPs for a burst triggered at at.
func (s *Scheduler) expand(at time.Time, repeat int) {
	start := len(s.queue)
	for range repeat {
		for _, v := range s.vips {
			k := paceKey{v.Interface, KindOf(v.Addr)}
			slot := at
			if nx, ok := s.next[k]; ok && nx.After(slot) {
				slot = nx
			}
			if iv := s.interval(k.kind); iv > 0 {
				s.next[k] = slot.Add(iv)
			}
			s.queue = append(s.queue, Announcement{At: slot, Interface: v.Interface, Addr: v.Addr})
		}
	}
	if len(s.queue) > start {
		// Keep the queue ordered by time; stable so that equal times keep
		// their order (older bursts first, then round-robin order).
		slices.SortStableFunc(s.queue, func(a, b Announcement) int { return a.At.Compare(b.At) })
	}
}

// NextDeadline returns when Due next has something to return, or the zero
// time when nothing is pending (stopped, or no refresh configured and all
// bursts sent). It may be in the past: call Due at once then. When the
// deadline is a burst whose packets pacing pushes later, Due returns nothing
// and NextDeadline moves on to the first of them.
func (s *Scheduler) NextDeadline() time.Time {
	var d time.Time
	if len(s.queue) > 0 {
		d = s.queue[0].At
	}
	if at, _, ok := s.nextTrigger(); ok && (d.IsZero() || at.Before(d)) {
		d = at
	}
	return d
}
