package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// ---- translation -----------------------------------------------------------

// maxGroupRange bounds the addresses one virtual_server_group entry may
// expand to (an IP/LEN entry with a short prefix would otherwise create
// millions of services).
const maxGroupRange = 65536

// IPVSTable translates the configuration's virtual servers into the IPVS
// table lvs-ha programs (see desiredTable). It is exported for reload and
// for tests outside the package.
func IPVSTable(cfg *conf.Config) (ipvs.Table, error) { return desiredTable(cfg) }

// desiredTable translates cfg's virtual_server blocks into the desired IPVS
// table. A virtual_server names one service (IP PORT or fwmark N) or a
// virtual_server_group, which expands to one service per address of each
// address range (with the entry's port) and one per fwmark entry, all with
// the virtual server's settings and real servers, as keepalived does.
// Virtual servers without real servers are left out (keepalived ignores
// them). Every real server is programmed with its configured weight; the
// health component (health.go) computes the table with health applied.
// Errors name the virtual_server's position.
func desiredTable(cfg *conf.Config) (ipvs.Table, error) {
	return buildTable(cfg, configuredDestinations)
}

// configuredDestinations are v's real servers at their configured weights.
func configuredDestinations(v *conf.VirtualServer) ([]ipvs.Destination, error) {
	dests := make([]ipvs.Destination, 0, len(v.RealServers))
	for _, r := range v.RealServers {
		d, err := destination(r)
		if err != nil {
			return nil, err
		}
		dests = append(dests, d)
	}
	return dests, nil
}

// buildTable is desiredTable with the destinations of each virtual server
// given by dests (the health component's view, or the configured ones).
func buildTable(cfg *conf.Config, dests func(*conf.VirtualServer) ([]ipvs.Destination, error)) (ipvs.Table, error) {
	groups := make(map[string]*conf.VirtualServerGroup, len(cfg.VirtualServerGroups))
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	var t ipvs.Table
	from := map[ipvs.ServiceKey]*conf.VirtualServer{}
	for _, v := range cfg.VirtualServers {
		if len(v.RealServers) == 0 {
			continue
		}
		ds, err := dests(v)
		if err != nil {
			return ipvs.Table{}, fmt.Errorf("virtual_server %s (%s): %w", vsName(v), v.Pos, err)
		}
		svcs, err := virtualServices(v, groups, ds)
		if err != nil {
			return ipvs.Table{}, fmt.Errorf("virtual_server %s (%s): %w", vsName(v), v.Pos, err)
		}
		if _, err := ipvs.Normalize(ipvs.Table{Services: svcs}); err != nil {
			return ipvs.Table{}, fmt.Errorf("virtual_server %s (%s): %w", vsName(v), v.Pos, err)
		}
		for _, s := range svcs {
			if prev := from[s.Key]; prev != nil {
				return ipvs.Table{}, fmt.Errorf("virtual_server %s (%s): service %s is also defined by virtual_server %s (%s)",
					vsName(v), v.Pos, s.Key, vsName(prev), prev.Pos)
			}
			from[s.Key] = v
			t.Services = append(t.Services, s)
		}
	}
	return t, nil
}

// vsName is the virtual server as written: "IP PORT", "fwmark N", "group NAME".
func vsName(v *conf.VirtualServer) string {
	switch {
	case v.Group != "":
		return "group " + v.Group
	case v.IsFWMark:
		return "fwmark " + strconv.FormatUint(uint64(v.FWMark), 10)
	}
	return v.Addr.String() + " " + strconv.Itoa(int(v.Port))
}

// virtualServices returns the services of one virtual_server block.
func virtualServices(v *conf.VirtualServer, groups map[string]*conf.VirtualServerGroup, dests []ipvs.Destination) ([]ipvs.Service, error) {
	fam := ipvs.FamilyIPv4
	if v.Family == conf.Inet6 {
		fam = ipvs.FamilyIPv6
	}
	var keys []ipvs.ServiceKey
	addrKey := func(a netip.Addr, port uint16) (ipvs.ServiceKey, error) {
		p, err := protocol(v.Protocol)
		if err != nil {
			return ipvs.ServiceKey{}, err
		}
		return ipvs.AddrKey(p, netip.AddrPortFrom(a, port)), nil
	}
	switch {
	case v.Group != "":
		g := groups[v.Group]
		if g == nil {
			return nil, fmt.Errorf("no virtual_server_group %q", v.Group)
		}
		for _, e := range g.Entries {
			if e.IsFWMark {
				if e.FWMark == 0 {
					return nil, fmt.Errorf("virtual_server_group %s (%s): fwmark 0 is not a valid mark", g.Name, e.Pos)
				}
				f := fam
				switch e.FWMFamily {
				case conf.Inet:
					f = ipvs.FamilyIPv4
				case conf.Inet6:
					f = ipvs.FamilyIPv6
				}
				keys = append(keys, ipvs.FWMarkKey(f, e.FWMark))
				continue
			}
			n := 0
			for a := e.First; a.IsValid() && !e.Last.Less(a); a = a.Next() {
				if n++; n > maxGroupRange {
					return nil, fmt.Errorf("virtual_server_group %s (%s): address range %s-%s has more than %d addresses",
						g.Name, e.Pos, e.First, e.Last, maxGroupRange)
				}
				k, err := addrKey(a, e.Port)
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
		}
	case v.IsFWMark:
		if v.FWMark == 0 {
			return nil, errors.New("fwmark 0 is not a valid mark")
		}
		keys = append(keys, ipvs.FWMarkKey(fam, v.FWMark))
	default:
		k, err := addrKey(v.Addr, v.Port)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}

	base := ipvs.Service{Scheduler: v.Scheduler, PEName: v.PersistenceEngine}
	for _, name := range v.SchedFlags {
		f, err := ipvs.ParseSchedFlag(name)
		if err != nil {
			return nil, err
		}
		base.Flags |= f
	}
	if v.OnePacket {
		base.Flags |= ipvs.FlagOnePacket
	}
	if v.PersistenceTimeout > 0 {
		base.Flags |= ipvs.FlagPersistent
		base.Timeout = uint32(v.PersistenceTimeout.Std() / time.Second)
	}
	out := make([]ipvs.Service, 0, len(keys))
	for _, k := range keys {
		s := base
		s.Key = k
		if v.PersistenceGranularity != "" {
			m, err := granularity(v.PersistenceGranularity, k.Family)
			if err != nil {
				return nil, err
			}
			s.Netmask = m
		}
		s.Destinations = append([]ipvs.Destination(nil), dests...)
		out = append(out, s)
	}
	return out, nil
}

func protocol(p conf.Protocol) (ipvs.Protocol, error) {
	switch p {
	case conf.TCP:
		return ipvs.TCP, nil
	case conf.UDP:
		return ipvs.UDP, nil
	case conf.SCTP:
		return ipvs.SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", p)
}

// granularity converts persistence_granularity (a dotted IPv4 netmask, or a
// prefix length) to a prefix length for a service of family f.
func granularity(s string, f ipvs.Family) (uint8, error) {
	if strings.Contains(s, ".") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return 0, fmt.Errorf("persistence_granularity %q is not an IPv4 netmask", s)
		}
		if f != ipvs.FamilyIPv4 {
			return 0, fmt.Errorf("persistence_granularity %q: an IPv6 service takes a prefix length", s)
		}
		b := a.As4()
		m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := bits.LeadingZeros32(^m)
		if m<<n != 0 || n == 0 {
			return 0, fmt.Errorf("persistence_granularity %s is not a contiguous netmask", s)
		}
		return uint8(n), nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n < 1 || int(n) > f.Bits() {
		return 0, fmt.Errorf("persistence_granularity %q: want a prefix length 1..%d", s, f.Bits())
	}
	return uint8(n), nil
}

// destination translates a real_server.
func destination(r *conf.RealServer) (ipvs.Destination, error) {
	d := ipvs.Destination{
		Addr:           r.Addr.Unmap(),
		Port:           r.Port,
		Weight:         int32(r.Weight),
		UpperThreshold: r.UThreshold,
		LowerThreshold: r.LThreshold,
	}
	f := r.Forwarding
	switch f.Method {
	case "NAT", "":
		d.Method = ipvs.Masq
	case "DR":
		d.Method = ipvs.DR
	case "TUN":
		d.Method = ipvs.Tunnel
		switch f.TunnelType {
		case "ipip", "":
			d.TunType = ipvs.TunnelIPIP
		case "gue":
			d.TunType = ipvs.TunnelGUE
			d.TunPort = f.TunnelPort
		case "gre":
			d.TunType = ipvs.TunnelGRE
		default:
			return d, fmt.Errorf("real_server %s (%s): unknown tunnel type %q", r.Addr, r.Pos, f.TunnelType)
		}
		switch f.TunnelCsum {
		case "nocsum", "":
			d.TunFlags = ipvs.TunnelNoCsum
		case "csum":
			d.TunFlags = ipvs.TunnelCsum
		case "remcsum":
			d.TunFlags = ipvs.TunnelRemCsum
		default:
			return d, fmt.Errorf("real_server %s (%s): unknown tunnel checksum option %q", r.Addr, r.Pos, f.TunnelCsum)
		}
	default:
		return d, fmt.Errorf("real_server %s (%s): unknown forwarding method %q", r.Addr, r.Pos, f.Method)
	}
	return d, nil
}

// ---- component ---------------------------------------------------------------

// ipvsRetryInterval is how often the IPVS component retries when the kernel
// has no IPVS or a reconcile failed.
const ipvsRetryInterval = 10 * time.Second

// ErrIPVSUnavailable is returned by IPVS.Apply while the kernel's IPVS
// cannot be opened; the table is programmed when it becomes available.
var ErrIPVSUnavailable = errors.New("IPVS unavailable")

// ipvsKernel is what the component needs of the kernel: the ipvs.Kernel and
// a way to release the handle.
type ipvsKernel interface {
	ipvs.Kernel
	Close() error
}

var _ ipvsKernel = (*ipvs.Netlink)(nil)

// StopMode is what the IPVS component does with the kernel table at shutdown.
type StopMode uint8

const (
	// StopRelease deletes the services lvs-ha owns (the desired ones and any
	// it programmed before), leaving other services alone: keepalived's
	// default, and lvs_flush_on_stop VS (deleting a service deletes its real
	// servers in the kernel, so both are one call per service).
	StopRelease StopMode = iota
	// StopFlushAll flushes the whole IPVS table, foreign services included:
	// lvs_flush_on_stop without argument (keepalived's LVS_FLUSH_FULL).
	StopFlushAll
	// StopKeep leaves the table as it is (keepalived --dont-release-ipvs).
	StopKeep
)

func (m StopMode) String() string {
	switch m {
	case StopRelease:
		return "release"
	case StopFlushAll:
		return "flush-all"
	case StopKeep:
		return "keep"
	}
	return "stop(" + strconv.Itoa(int(m)) + ")"
}

// stopModeOf maps global_defs lvs_flush_on_stop ("" / "RS" / "VS") to a StopMode.
func stopModeOf(flushOnStop string) StopMode {
	if flushOnStop == "RS" {
		return StopFlushAll
	}
	return StopRelease
}

// ipvsOptions configure an IPVS component.
type ipvsOptions struct {
	Logger  *slog.Logger
	Open    func() (ipvsKernel, error) // nil: ipvs.NewNetlink
	Clock   clock.Clock                // nil: the wall clock
	Retry   time.Duration              // 0: ipvsRetryInterval
	Desired ipvs.Table
	Flush   bool // lvs_flush: delete every foreign service on the first reconcile
	Stop    StopMode
}

// IPVS keeps the kernel's IPVS table equal to the desired one. It runs on
// master and backup alike (as keepalived's checker does).
type IPVS struct {
	log   *slog.Logger
	open  func() (ipvsKernel, error)
	clk   clock.Clock
	retry time.Duration

	mu            sync.Mutex
	stop          StopMode
	k             ipvsKernel // nil until opened
	desired       ipvs.Table
	owned         map[ipvs.ServiceKey]bool
	flush         bool // lvs_flush still to do
	pending       bool // desired not (fully) applied
	lastErr       string
	stopped       bool // Run has shut down: Apply refuses
	unavailLogged bool // IPVS unavailable was logged
}

func newIPVS(o ipvsOptions) *IPVS {
	c := &IPVS{
		log:   o.Logger,
		open:  o.Open,
		clk:   clock.OrReal(o.Clock),
		retry: o.Retry,
		stop:  o.Stop,
		flush: o.Flush,
		owned: map[ipvs.ServiceKey]bool{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.open == nil {
		c.open = func() (ipvsKernel, error) { return ipvs.NewNetlink() }
	}
	if c.retry <= 0 {
		c.retry = ipvsRetryInterval
	}
	c.setDesiredLocked(o.Desired)
	return c
}

func (c *IPVS) setDesiredLocked(t ipvs.Table) {
	c.desired = t
	c.pending = true
	for _, s := range t.Services {
		c.owned[s.Key] = true
	}
}

// SetStopMode changes what Run does with the table at shutdown.
func (c *IPVS) SetStopMode(m StopMode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stop = m
}

// Apply makes t the desired table and reconciles the kernel with it:
// services lvs-ha programmed before and that t no longer has are deleted.
// While IPVS is unavailable it records t, returns ErrIPVSUnavailable, and
// Run programs t once IPVS can be opened.
func (c *IPVS) Apply(ctx context.Context, t ipvs.Table) (ipvs.Changes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return ipvs.Changes{}, errors.New("ipvs: apply after shutdown")
	}
	c.setDesiredLocked(t)
	return c.syncLocked(ctx)
}

// Run opens IPVS, programs the desired table, retries every Retry while IPVS
// is unavailable or a change failed, and at the end of ctx handles the
// table according to the StopMode. It never fails: IPVS problems are
// logged and VRRP keeps running.
func (c *IPVS) Run(ctx context.Context) error {
	defer c.shutdown(context.WithoutCancel(ctx))
	var timer clock.Timer
	for {
		c.mu.Lock()
		_, _ = c.syncLocked(ctx)
		pending := c.pending
		c.mu.Unlock()
		var tc <-chan time.Time
		if pending {
			if timer == nil {
				timer = c.clk.NewTimer(c.retry)
			} else {
				timer.Reset(c.retry)
			}
			tc = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-tc:
		}
	}
}

// syncLocked opens IPVS if needed and reconciles the kernel with the
// desired table when it is pending.
func (c *IPVS) syncLocked(ctx context.Context) (ipvs.Changes, error) {
	if c.k == nil {
		k, err := c.open()
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrIPVSUnavailable, err)
			if !c.unavailLogged {
				c.log.Error("IPVS unavailable: virtual servers are not programmed",
					"error", err, "virtual_services", len(c.desired.Services), "retry_in", c.retry)
				c.unavailLogged = true
			} else {
				c.log.Debug("IPVS still unavailable", "error", err)
			}
			return ipvs.Changes{}, err
		}
		if c.unavailLogged {
			c.log.Info("IPVS available")
			c.unavailLogged = false
		}
		c.k = k
	}
	if !c.pending {
		return ipvs.Changes{}, nil
	}
	owned := c.owned
	start := time.Now()
	ch, err := ipvs.Reconcile(ctx, c.k, c.desired, ipvs.ReconcileOptions{
		Owned: func(k ipvs.ServiceKey) bool { return owned[k] },
		Flush: c.flush,
	})
	took := time.Since(start)
	if err != nil {
		if msg := err.Error(); msg != c.lastErr {
			c.log.Error("ipvs apply failed", "error", err, "changes", ch.String(), "retry_in", c.retry)
			c.lastErr = msg
		} else {
			c.log.Debug("ipvs apply failed again", "error", err, "changes", ch.String())
		}
		return ch, err
	}
	c.flush, c.pending, c.lastErr = false, false, ""
	// Services no longer desired are gone from the kernel: stop owning them.
	c.owned = make(map[ipvs.ServiceKey]bool, len(c.desired.Services))
	for _, s := range c.desired.Services {
		c.owned[s.Key] = true
	}
	c.log.Info("ipvs applied", "services", len(c.desired.Services), "changes", ch.String(),
		"total", ch.Total(), "took", took)
	return ch, nil
}

// shutdown releases the table according to the stop mode and closes IPVS.
func (c *IPVS) shutdown(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.k == nil {
		return
	}
	defer func() {
		_ = c.k.Close()
		c.k = nil
	}()
	switch c.stop {
	case StopKeep:
		c.log.Info("ipvs left in place at stop", "services", len(c.owned))
	case StopFlushAll:
		if err := c.k.Flush(); err != nil {
			c.log.Error("ipvs flush at stop failed", "error", err)
			return
		}
		c.log.Info("ipvs flushed at stop (lvs_flush_on_stop)")
	default:
		owned := c.owned
		ch, err := ipvs.Reconcile(ctx, c.k, ipvs.Table{}, ipvs.ReconcileOptions{
			Owned: func(k ipvs.ServiceKey) bool { return owned[k] },
		})
		if err != nil {
			c.log.Error("ipvs release at stop failed", "error", err, "changes", ch.String())
			return
		}
		c.log.Info("ipvs released at stop", "services_deleted", ch.ServicesDeleted)
	}
}
