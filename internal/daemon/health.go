package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// ---- translation -----------------------------------------------------------

// vsID names a virtual server for check IDs and logs: "TCP 192.0.2.1:80",
// "fwmark 7", "group NAME" (with the protocol when it has one).
func vsID(v *conf.VirtualServer) string {
	switch {
	case v.Group != "":
		return "group " + v.Group + protoSuffix(v)
	case v.IsFWMark:
		return vsName(v)
	}
	return string(v.Protocol) + " " + netip.AddrPortFrom(v.Addr, v.Port).String()
}

func protoSuffix(v *conf.VirtualServer) string {
	if v.Protocol == "" {
		return ""
	}
	return " " + string(v.Protocol)
}

// rsID names a real server: "10.0.0.1:80".
func rsID(r *conf.RealServer) string { return netip.AddrPortFrom(r.Addr, r.Port).String() }

// checkID is stable across reloads as long as the virtual server, the real
// server, the checker's position among the real server's checkers and its kind
// are unchanged: healthcheck.Scheduler.Update then keeps its state.
func checkID(v *conf.VirtualServer, r *conf.RealServer, i int, kind conf.CheckerType, host int) string {
	id := fmt.Sprintf("%s/%s/%s#%d", vsID(v), rsID(r), kind, i)
	if host > 0 {
		id += fmt.Sprintf("/host%d", host)
	}
	return id
}

// healthConn translates a checker's connection options; connect_ip and
// connect_port default to the real server's.
func healthConn(o conf.ConnOpts, r *conf.RealServer) healthcheck.Conn {
	c := healthcheck.Conn{
		ConnectIP:      o.ConnectIP,
		ConnectPort:    o.ConnectPort,
		BindTo:         o.BindTo,
		BindPort:       o.BindPort,
		BindIf:         o.BindIf,
		Fwmark:         o.FWMark,
		ConnectTimeout: o.ConnectTimeout.Std(),
	}
	if !c.ConnectIP.IsValid() {
		c.ConnectIP = r.Addr
	}
	if c.ConnectPort == 0 {
		c.ConnectPort = r.Port
	}
	return c
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// checkers translates one checker block into healthcheck checkers: one, or
// one per host of an SMTP_CHECK with host blocks (all must be up).
func checkers(cfg *conf.Config, v *conf.VirtualServer, r *conf.RealServer, c *conf.Checker) ([]healthcheck.Checker, error) {
	conn := healthConn(c.ConnOpts, r)
	one := func(ch healthcheck.Checker, err error) ([]healthcheck.Checker, error) {
		if err != nil {
			return nil, err
		}
		return []healthcheck.Checker{ch}, nil
	}
	switch c.Type {
	case conf.TCPCheck:
		return one(healthcheck.NewTCP(healthcheck.TCPOptions{Conn: conn}))
	case conf.HTTPGet, conf.SSLGet:
		o := healthcheck.HTTPOptions{Conn: conn, SSL: c.Type == conf.SSLGet}
		if h := c.HTTP; h != nil {
			o.Protocol = h.Protocol
			o.EnableSNI = h.EnableSNI
			o.VirtualHost = firstNonEmpty(h.Virtualhost, r.Virtualhost, v.Virtualhost)
			for _, u := range h.URLs {
				hu := healthcheck.URL{Path: u.Path, Digest: u.Digest, VirtualHost: u.Virtualhost,
					Regex: u.Regex, RegexNoMatch: u.RegexNoMatch}
				for _, s := range u.StatusCodes {
					hu.StatusCodes = append(hu.StatusCodes, healthcheck.StatusRange{Lo: s.Min, Hi: s.Max})
				}
				o.URLs = append(o.URLs, hu)
			}
		}
		if cfg.SSL != nil {
			o.CAFile, o.CertFile, o.KeyFile = cfg.SSL.CA, cfg.SSL.Certificate, cfg.SSL.Key
		}
		return one(healthcheck.NewHTTP(o))
	case conf.MiscCheck:
		o := healthcheck.MiscOptions{Timeout: c.DelayLoop.Std()}
		if m := c.Misc; m != nil {
			if m.Path != nil {
				o.Argv = m.Path.Argv
				o.User = firstNonEmpty(m.Path.User, cfg.Global.ScriptUser)
				o.Group = m.Path.Group
				if m.Path.User == "" {
					o.Group = cfg.Global.ScriptGroup
				}
			}
			if m.Timeout > 0 {
				o.Timeout = m.Timeout.Std()
			}
			o.Dynamic = m.Dynamic
		}
		return one(healthcheck.NewMisc(o))
	case conf.DNSCheck:
		o := healthcheck.DNSOptions{Conn: conn}
		if d := c.DNS; d != nil {
			o.Type, o.Name = d.Type, d.Name
		}
		return one(healthcheck.NewDNS(o))
	case conf.UDPCheck:
		o := healthcheck.UDPOptions{Conn: conn}
		if u := c.UDP; u != nil {
			if u.Payload != "" {
				p, err := healthcheck.ParseHex(u.Payload, false)
				if err != nil {
					return nil, fmt.Errorf("UDP_CHECK: payload: %w", err)
				}
				o.Payload = p.Data
			}
			o.RequireReply = u.RequireReply
			if u.ReplyPattern != "" {
				p, err := healthcheck.ParseHex(u.ReplyPattern, true)
				if err != nil {
					return nil, fmt.Errorf("UDP_CHECK: require_reply: %w", err)
				}
				o.ReplyPattern = &p
			}
			o.MinReplyLength, o.MaxReplyLength = u.MinReplyLength, u.MaxReplyLength
		}
		return one(healthcheck.NewUDP(o))
	case conf.PingCheck:
		return one(healthcheck.NewPing(healthcheck.PingOptions{Conn: conn}))
	case conf.SMTPCheck:
		var helo string
		var hosts []conf.ConnOpts
		if s := c.SMTP; s != nil {
			helo, hosts = s.HeloName, s.Hosts
		}
		if len(hosts) == 0 {
			return one(healthcheck.NewSMTP(healthcheck.SMTPOptions{Conn: conn, HeloName: helo}))
		}
		var out []healthcheck.Checker
		for _, h := range hosts {
			hc := healthConn(h, r)
			if h.ConnectTimeout == 0 {
				hc.ConnectTimeout = conn.ConnectTimeout
			}
			ch, err := healthcheck.NewSMTP(healthcheck.SMTPOptions{Conn: hc, HeloName: helo})
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
		}
		return out, nil
	}
	return nil, fmt.Errorf("checker %s is not supported", c.Type)
}

// timing translates a checker's resolved scheduling settings.
func timing(v *conf.VirtualServer, c *conf.Checker) healthcheck.Timing {
	return healthcheck.Timing{
		DelayLoop:        c.DelayLoop.Std(),
		Retry:            c.Retry,
		DelayBeforeRetry: c.DelayBeforeRetry.Std(),
		Warmup:           c.Warmup.Std(),
		Alpha:            c.Alpha,
		Omega:            v.Omega,
	}
}

// ---- health state ----------------------------------------------------------

// checkState is the last known state of one check.
type checkState struct {
	id     string
	rs     *rsHealth
	up     bool
	weight *int
	// info and services describe the check for metrics and /status.
	info     metrics.CheckInfo
	services []ipvs.ServiceKey
}

// rsHealth is a real server: up when all its checks are up (keepalived);
// always up without checkers.
type rsHealth struct {
	r      *conf.RealServer
	vs     *vsHealth
	name   string
	checks []*checkState
	up     bool
}

// vsHealth is a virtual server and its quorum state.
type vsHealth struct {
	v        *conf.VirtualServer
	name     string
	rss      []*rsHealth
	quorumUp bool
}

// healthOptions configure the health component.
type healthOptions struct {
	Logger *slog.Logger
	Clock  clock.Clock // nil: wall clock
	// RunScript runs a notify or quorum script without waiting for it; nil
	// means script.Run in a goroutine.
	RunScript func(spec script.Spec)
	// ScriptUser and ScriptGroup are global_defs script_user.
	ScriptUser, ScriptGroup string
	// OnResult, if set, receives every finished check with its labels
	// (metrics.Metrics.ObserveCheck).
	OnResult func(metrics.CheckInfo, healthcheck.Result)
	// wrap, if set, replaces each checker (tests).
	wrap func(id string, c healthcheck.Checker) healthcheck.Checker
}

// health translates check transitions into real server and quorum states,
// runs notify_up/notify_down/quorum_up/quorum_down scripts and computes the
// IPVS destinations of each virtual server from them.
type health struct {
	log       *slog.Logger
	clk       clock.Clock
	runScript func(script.Spec)
	user      string
	group     string
	onResult  func(metrics.CheckInfo, healthcheck.Result)
	checks    []healthcheck.Check

	// reloads carries reload requests to run (see reload.go).
	reloads chan healthReload

	mu      sync.Mutex
	vss     map[*conf.VirtualServer]*vsHealth
	order   []*vsHealth
	byCheck map[string]*checkState
	changed chan struct{}       // cap 1: a transition changed the desired table
	runner  *healthcheck.Runner // set while run runs
}

// newHealth builds the checks of cfg's real servers and the initial state:
// checks start up, alpha checks down (as healthcheck.Scheduler does).
func newHealth(cfg *conf.Config, o healthOptions) (*health, error) {
	h := &health{
		log: o.Logger, clk: clock.OrReal(o.Clock), runScript: o.RunScript,
		user: o.ScriptUser, group: o.ScriptGroup, onResult: o.OnResult,
		reloads: make(chan healthReload),
		vss:     map[*conf.VirtualServer]*vsHealth{}, byCheck: map[string]*checkState{},
		changed: make(chan struct{}, 1),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.runScript == nil {
		h.runScript = func(spec script.Spec) {
			go func() {
				if res := script.Run(context.Background(), spec); !res.OK() {
					h.log.Warn("script failed", "script", script.QuoteCommand(spec.Argv), "result", res.String())
				}
			}()
		}
	}
	groups := make(map[string]*conf.VirtualServerGroup, len(cfg.VirtualServerGroups))
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	for _, v := range cfg.VirtualServers {
		if len(v.RealServers) == 0 {
			continue
		}
		vh := &vsHealth{v: v, name: vsID(v)}
		var keys []ipvs.ServiceKey
		if svcs, err := virtualServices(v, groups, nil); err == nil {
			for _, s := range svcs {
				keys = append(keys, s.Key)
			}
		}
		for _, r := range v.RealServers {
			rh := &rsHealth{r: r, vs: vh, name: rsID(r)}
			kinds := map[string]int{}
			for i, c := range r.Checkers {
				chs, err := checkers(cfg, v, r, c)
				if err != nil {
					return nil, fmt.Errorf("virtual_server %s: real_server %s: %s (%s): %w", vsName(v), rh.name, c.Type, c.Pos, err)
				}
				for j, ch := range chs {
					host := 0
					if len(chs) > 1 {
						host = j + 1
					}
					id := checkID(v, r, i, c.Type, host)
					if h.byCheck[id] != nil {
						return nil, fmt.Errorf("virtual_server %s: real_server %s (%s): defined twice", vsName(v), rh.name, r.Pos)
					}
					label := string(c.Type)
					if n := kinds[label]; n > 0 {
						label += "#" + strconv.Itoa(n)
					}
					kinds[string(c.Type)]++
					cs := &checkState{id: id, rs: rh, up: !c.Alpha, services: keys, info: metrics.CheckInfo{
						ID: id, VirtualServer: vsName(v), RealServer: netip.AddrPortFrom(r.Addr, r.Port), Checker: label,
					}}
					h.byCheck[id] = cs
					rh.checks = append(rh.checks, cs)
					if o.wrap != nil {
						ch = o.wrap(id, ch)
					}
					h.checks = append(h.checks, healthcheck.Check{ID: id, Checker: ch, Timing: timing(v, c)})
				}
			}
			rh.up = rh.allUp()
			vh.rss = append(vh.rss, rh)
		}
		// Initial quorum state, without scripts: met when the weight of
		// the real servers that start up reaches quorum.
		sum := vh.weightSum()
		vh.quorumUp = sum > 0 && sum >= uint64(v.Quorum)
		h.vss[v] = vh
		h.order = append(h.order, vh)
	}
	return h, nil
}

// Checks returns the healthcheck checks of the configuration.
func (h *health) Checks() []healthcheck.Check { return h.checks }

// Changed is signalled (coalesced) when a transition changed the desired table.
func (h *health) Changed() <-chan struct{} { return h.changed }

func (r *rsHealth) allUp() bool {
	for _, c := range r.checks {
		if !c.up {
			return false
		}
	}
	return true
}

// weight is the real server's weight while up: the last misc_dynamic weight
// reported by one of its checks, else the configured weight.
func (r *rsHealth) weight() int {
	for _, c := range r.checks {
		if c.weight != nil {
			return *c.weight
		}
	}
	return r.r.Weight
}

// weightSum is keepalived's weigh_live_realservers: the sum of the weights of
// the real servers that are up.
func (v *vsHealth) weightSum() uint64 {
	var s uint64
	for _, r := range v.rss {
		if r.up {
			s += uint64(max(r.weight(), 0))
		}
	}
	return s
}

// quorumLow is quorum - hysteresis (0 when hysteresis ≥ quorum).
func quorumLow(v *conf.VirtualServer) uint64 {
	if v.Hysteresis >= v.Quorum {
		return 0
	}
	return uint64(v.Quorum - v.Hysteresis)
}

func (h *health) script(s *conf.Script) {
	if s == nil || len(s.Argv) == 0 {
		return
	}
	spec := script.Spec{Argv: s.Argv, User: s.User, Group: s.Group, Timeout: 0}
	if spec.User == "" {
		spec.User, spec.Group = h.user, h.group
	}
	h.runScript(spec)
}

// transition records one check transition. It logs the real server and
// quorum transitions it causes, runs their scripts, and signals Changed
// when the desired table may have changed. Removal and shutdown
// transitions run scripts only in omega mode.
func (h *health) transition(tr healthcheck.Transition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.transitionLocked(tr)
}

func (h *health) transitionLocked(tr healthcheck.Transition) {
	cs := h.byCheck[tr.ID]
	if cs == nil {
		return
	}
	scripts := tr.Omega || (tr.Reason != healthcheck.ReasonRemoved && tr.Reason != healthcheck.ReasonShutdown)
	reason := healthcheck.Result{Reason: tr.Reason, Detail: tr.Detail}.String()
	weightChanged := !sameWeightPtr(cs.weight, tr.Weight)
	if cs.up == tr.Up && !weightChanged {
		return
	}
	cs.up, cs.weight = tr.Up, tr.Weight
	rs := cs.rs
	vs := rs.vs
	up := rs.allUp()
	h.log.Debug("check transition", "check", tr.ID, "up", tr.Up, "reason", reason)
	switch {
	case up != rs.up:
		rs.up = up
		if up {
			h.log.Info("real server up", "virtual_server", vs.name, "real_server", rs.name,
				"weight", rs.weight(), "check", tr.ID, "reason", reason)
			if scripts {
				h.script(rs.r.NotifyUp)
			}
		} else {
			act := "removed"
			if rs.r.InhibitOnFailure {
				act = "weight 0 (inhibit_on_failure)"
			}
			h.log.Warn("real server down", "virtual_server", vs.name, "real_server", rs.name,
				"action", act, "check", tr.ID, "reason", reason)
			if scripts {
				h.script(rs.r.NotifyDown)
			}
		}
	case up && weightChanged:
		h.log.Info("real server weight", "virtual_server", vs.name, "real_server", rs.name,
			"weight", rs.weight(), "check", tr.ID, "reason", reason)
	default:
		return // another check of a down real server changed
	}
	h.updateQuorumLocked(vs, scripts)
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// updateQuorumLocked is keepalived's update_quorum_state: quorum is gained
// when the live weight reaches quorum + hysteresis and lost when it falls
// below quorum - hysteresis (or to 0).
func (h *health) updateQuorumLocked(vs *vsHealth, scripts bool) {
	v := vs.v
	sum := vs.weightSum()
	switch {
	case !vs.quorumUp && sum >= uint64(v.Quorum)+uint64(v.Hysteresis):
		vs.quorumUp = true
		h.log.Info("quorum gained", "virtual_server", vs.name, "weight_sum", sum,
			"quorum", v.Quorum, "hysteresis", v.Hysteresis, "sorry_server", sorryAction(v, false))
		if scripts {
			h.script(v.QuorumUp)
		}
	case vs.quorumUp && (sum == 0 || sum < quorumLow(v)):
		vs.quorumUp = false
		h.log.Warn("quorum lost", "virtual_server", vs.name, "weight_sum", sum,
			"quorum", v.Quorum, "hysteresis", v.Hysteresis, "sorry_server", sorryAction(v, true))
		if scripts {
			h.script(v.QuorumDown)
		}
	}
}

func sorryAction(v *conf.VirtualServer, in bool) string {
	switch {
	case v.SorryServer == nil:
		return "none"
	case in:
		return "added"
	case v.SorryServer.Inhibit:
		return "weight 0 (sorry_server_inhibit)"
	}
	return "removed"
}

func sameWeightPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// destinations returns v's IPVS destinations for the current health: up real
// servers at their weight, down ones left out or at weight 0 with
// inhibit_on_failure; while quorum is lost and v has a sorry_server, the
// sorry server (weight 1) replaces the real servers (keepalived's
// perform_quorum_state); otherwise the sorry server is left out, or kept at
// weight 0 with sorry_server_inhibit.
func (h *health) destinations(v *conf.VirtualServer) ([]ipvs.Destination, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	vs := h.vss[v]
	if vs == nil {
		return configuredDestinations(v)
	}
	sorry := v.SorryServer != nil && !vs.quorumUp
	var out []ipvs.Destination
	seen := map[netip.AddrPort]bool{}
	for _, rs := range vs.rss {
		d, err := destination(rs.r)
		if err != nil {
			return nil, err
		}
		switch {
		case rs.up && !sorry:
			d.Weight = int32(rs.weight())
		case rs.r.InhibitOnFailure:
			d.Weight = 0
		default:
			continue
		}
		seen[netip.AddrPortFrom(d.Addr, d.Port)] = true
		out = append(out, d)
	}
	if s := v.SorryServer; s != nil && (sorry || s.Inhibit) {
		d, err := destination(&conf.RealServer{Addr: s.Addr, Port: s.Port, Forwarding: s.Forwarding, Pos: s.Pos})
		if err != nil {
			return nil, fmt.Errorf("sorry_server: %w", err)
		}
		d.Weight = 1
		if !sorry {
			d.Weight = 0
		}
		if !seen[netip.AddrPortFrom(d.Addr, d.Port)] {
			out = append(out, d)
		}
	}
	return out, nil
}

// table returns the desired IPVS table for the current health.
func (h *health) table(cfg *conf.Config) (ipvs.Table, error) {
	return buildTable(cfg, h.destinations)
}

// ---- running -----------------------------------------------------------------

// run runs the checks with one healthcheck.Runner and applies the
// recomputed table through apply after every transition that changes it
// (bursts are coalesced: one apply per wake-up). apply errors are logged by
// the IPVS component.
func (h *health) run(ctx context.Context, cfg *conf.Config, concurrency int,
	apply func(context.Context, ipvs.Table) error) error {
	sched, err := healthcheck.NewScheduler(h.clk.Now(), h.checks, healthcheck.SchedulerOptions{})
	if err != nil {
		return fmt.Errorf("health checks: %w", err)
	}
	runner := healthcheck.NewRunner(sched, healthcheck.RunnerOptions{
		Clock: h.clk, Concurrency: concurrency, OnTransition: h.transition, OnResult: h.result,
	})
	h.mu.Lock()
	h.runner = runner
	h.mu.Unlock()
	h.log.Info("health checks running", "checks", len(h.checks))
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-done
			for _, tr := range runner.Shutdown() {
				if tr.Omega {
					h.transition(tr)
				}
			}
			h.mu.Lock()
			h.runner = nil
			h.mu.Unlock()
			return nil
		case req := <-h.reloads:
			err := h.adopt(runner, req.next)
			if err == nil {
				cfg = req.cfg
			}
			req.done <- err
		case <-h.changed:
			t, err := h.table(cfg)
			if err != nil {
				h.log.Error("health: desired table", "error", err)
				continue
			}
			start := time.Now()
			if err := apply(ctx, t); err != nil {
				h.log.Debug("health: apply", "error", err)
				continue
			}
			h.log.Debug("health: applied", "took", time.Since(start))
		}
	}
}

// result passes a finished check to onResult with its labels.
func (h *health) result(ev healthcheck.Event) {
	if h.onResult == nil {
		return
	}
	h.mu.Lock()
	cs := h.byCheck[ev.Job.ID]
	h.mu.Unlock()
	if cs != nil {
		h.onResult(cs.info, ev.Result)
	}
}

// describe is the health state for logs and tests: one line per virtual
// server, "TCP 192.0.2.1:80 quorum up: 10.0.0.1:80 up, 10.0.0.2:80 down".
func (h *health) describe() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, vs := range h.order {
		q := "up"
		if !vs.quorumUp {
			q = "down"
		}
		fmt.Fprintf(&b, "%s quorum %s:", vs.name, q)
		for i, rs := range vs.rss {
			st := "down"
			if rs.up {
				st = "up"
			}
			sep := " "
			if i > 0 {
				sep = ", "
			}
			fmt.Fprintf(&b, "%s%s %s", sep, rs.name, st)
		}
		b.WriteString("\n")
	}
	return b.String()
}
