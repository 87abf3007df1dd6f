package daemon

import (
	"log/slog"
	"net/netip"
	"slices"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/notifyfifo"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// lvsState is keepalived's check → real server → quorum logic as a pure
// machine (no goroutines, no I/O): its inputs are check transitions (step)
// and, at a reload, the check states the health runner kept (adopt); its
// outputs are the desired IPVS table (table) and actions (log records and
// scripts) that its owner, lvs, carries out.
//
// A real server is up when all its checks are (always, without checkers);
// alpha checks start down. A down real server is left out of the table, or
// kept at weight 0 with inhibit_on_failure; an up one has its configured
// weight or its misc_dynamic weight. Quorum follows keepalived's
// update_quorum_state: lost when the weight of the up real servers falls
// below quorum - hysteresis (or to 0), gained when it reaches quorum +
// hysteresis; while it is lost a sorry_server replaces the real servers
// (kept at weight 0 afterwards with sorry_server_inhibit). notify_up /
// notify_down and quorum_up / quorum_down run on the transitions, each
// logged with the check's reason.
type lvsState struct {
	vss         []*vsState
	byCheck     map[string]*checkState
	user, group string // global_defs script_user, for scripts without a user
	// initNotifies is rs_init_notifies: notify_up runs for each real server
	// that starts up (at start, and for a real server new at a reload).
	initNotifies bool
	// mailRouterID is router_id when e-mail alerts are configured (nil:
	// none): real servers and virtual servers with smtp_alert send them.
	mailRouterID *string
	// noCheckerEmails is no_checker_emails: a check transition mails only
	// when it takes its real server up or down.
	noCheckerEmails bool
}

// vsState is a virtual server: its IPVS services (without destinations),
// real servers, sorry server and quorum state.
type vsState struct {
	v        *conf.VirtualServer
	name     string
	services []ipvs.Service
	rss      []*rsState
	sorry    *ipvs.Destination // nil without sorry_server
	quorumUp bool
	fifoName string // keepalived's FMT_VS, for notify FIFO lines
}

// rsState is a real server and its checks.
type rsState struct {
	r      rsConf
	vs     *vsState
	name   string
	dest   ipvs.Destination // at the configured weight
	checks []*checkState
	up     bool
}

// rsConf is what the machine needs of a real server's conf.RealServer,
// copied so that the parsed block (~300 bytes with its checkers, 30 MB at
// 10,000 x 10) is not kept alive by the running state after planning.
type rsConf struct {
	Addr                        netip.Addr
	Port                        uint16
	InhibitOnFailure, SMTPAlert bool
	Weight                      int
	NotifyUp, NotifyDown        *conf.Script
}

func rsConfOf(r *conf.RealServer) rsConf {
	return rsConf{Addr: r.Addr, Port: r.Port, InhibitOnFailure: r.InhibitOnFailure, SMTPAlert: r.SMTPAlert,
		Weight: r.Weight, NotifyUp: r.NotifyUp, NotifyDown: r.NotifyDown}
}

// fifoLine is keepalived's notify_fifo_rs line for r's state.
func (r *rsState) fifoLine() string {
	return notifyfifo.RSLine(notifyfifo.Trio(r.r.Addr, string(r.vs.v.Protocol), r.r.Port), r.vs.fifoName, r.up)
}

// checkState is the last known state of one check; info labels it for
// metrics and /status (it never changes).
type checkState struct {
	rs     *rsState
	info   metrics.CheckInfo
	up     bool
	weight *int
}

// action is one output of the machine: a log record and, when run is set, a
// script to run.
type action struct {
	level slog.Level
	msg   string
	attrs []any
	run   *script.Spec
	fifo  string      // the notify FIFO line (notifyfifo.RSLine, VSLine), if any
	alert *mail.Alert // the e-mail alert, if any (an action with only an alert logs nothing)
}

func (r *rsState) allUp() bool {
	for _, c := range r.checks {
		if !c.up {
			return false
		}
	}
	return true
}

// weight is the real server's weight while up: the last misc_dynamic weight
// reported by one of its checks, else the configured weight.
func (r *rsState) weight() int {
	for _, c := range r.checks {
		if c.weight != nil {
			return *c.weight
		}
	}
	return r.r.Weight
}

// weightSum is keepalived's weigh_live_realservers: the sum of the weights of
// the real servers that are up.
func (v *vsState) weightSum() uint64 {
	var s uint64
	for _, r := range v.rss {
		if r.up {
			s += uint64(max(r.weight(), 0))
		}
	}
	return s
}

// initQuorum sets the quorum state at startup (no scripts): met when the
// weight of the real servers that start up reaches quorum.
func (v *vsState) initQuorum() {
	sum := v.weightSum()
	v.quorumUp = sum > 0 && sum >= uint64(v.v.Quorum)
}

// initUp is rs_init_notifies for rs, which starts up: keepalived's
// init_service_rs runs its notify_up.
func (s *lvsState) initUp(rs *rsState) []action {
	if !s.initNotifies || !rs.up {
		return nil
	}
	return []action{{slog.LevelInfo, "real server up at start (rs_init_notifies)", []any{"virtual_server", rs.vs.name,
		"real_server", rs.name, "weight", rs.weight()}, s.spec(rs.r.NotifyUp, true), rs.fifoLine(), nil}}
}

// start is the machine's actions at startup: rs_init_notifies.
func (s *lvsState) start() []action {
	var acts []action
	for _, vs := range s.vss {
		for _, rs := range vs.rss {
			acts = append(acts, s.initUp(rs)...)
		}
	}
	return acts
}

// keys are the virtual server's service keys.
func (v *vsState) keys() []ipvs.ServiceKey {
	keys := make([]ipvs.ServiceKey, len(v.services))
	for i, s := range v.services {
		keys[i] = s.Key
	}
	return keys
}

// spec is the script s runs as (the global script_user unless s names a
// user), or nil when there is none or scripts do not run.
func (s *lvsState) spec(sc *conf.Script, scripts bool) *script.Spec {
	if !scripts || sc == nil || len(sc.Argv) == 0 {
		return nil
	}
	spec := script.Spec{Argv: sc.Argv, User: sc.User, Group: sc.Group}
	if spec.User == "" {
		spec.User, spec.Group = s.user, s.group
	}
	return &spec
}

// step records one check transition. It returns the real server and quorum
// transitions it causes, and whether the table may have changed. Removal and
// shutdown transitions run scripts only in omega mode.
func (s *lvsState) step(tr healthcheck.Transition) (acts []action, changed bool) {
	cs := s.byCheck[tr.ID]
	if cs == nil {
		return nil, false
	}
	weightChanged := !sameWeightPtr(cs.weight, tr.Weight)
	if cs.up == tr.Up && !weightChanged {
		return nil, false
	}
	scripts := tr.Omega || (tr.Reason != healthcheck.ReasonRemoved && tr.Reason != healthcheck.ReasonShutdown)
	reason := healthcheck.Result{Reason: tr.Reason, Detail: tr.Detail}.String()
	checkFlipped := cs.up != tr.Up
	cs.up, cs.weight = tr.Up, tr.Weight
	rs, vs := cs.rs, cs.rs.vs
	up := rs.allUp()
	rsFlipped := up != rs.up
	acts = []action{{level: slog.LevelDebug, msg: "check transition", attrs: []any{"check", tr.ID, "up", tr.Up, "reason", reason}}}
	switch {
	case rsFlipped:
		rs.up = up
		if up {
			acts = append(acts, action{slog.LevelInfo, "real server up", []any{"virtual_server", vs.name, "real_server", rs.name,
				"weight", rs.weight(), "check", tr.ID, "reason", reason}, s.spec(rs.r.NotifyUp, scripts), fifoIf(scripts, rs.fifoLine()), nil})
			break
		}
		act := "removed"
		if rs.r.InhibitOnFailure {
			act = "weight 0 (inhibit_on_failure)"
		} else if vs.v.BGPAnnounce != nil {
			act = "weight 0 (bgp_announce)"
		}
		acts = append(acts, action{slog.LevelWarn, "real server down", []any{"virtual_server", vs.name, "real_server", rs.name,
			"action", act, "check", tr.ID, "reason", reason}, s.spec(rs.r.NotifyDown, scripts), fifoIf(scripts, rs.fifoLine()), nil})
	case up && weightChanged:
		acts = append(acts, action{slog.LevelInfo, "real server weight", []any{"virtual_server", vs.name, "real_server", rs.name,
			"weight", rs.weight(), "check", tr.ID, "reason", reason}, nil, "", nil})
	}
	// keepalived's checkers mail every check transition, only those that
	// flip the real server with no_checker_emails
	if checkFlipped && (rsFlipped || !s.noCheckerEmails) {
		acts = append(acts, s.rsAlert(rs, cs, scripts, tr.Reason == healthcheck.ReasonTimeout)...)
	}
	if !rsFlipped && !(up && weightChanged) {
		return acts, false // another check of a down real server changed
	}
	return append(acts, s.updateQuorum(vs, scripts)...), true
}

// updateQuorum is keepalived's update_quorum_state: quorum is gained when
// the live weight reaches quorum + hysteresis and lost when it falls below
// quorum - hysteresis (or to 0).
func (s *lvsState) updateQuorum(vs *vsState, scripts bool) []action {
	v := vs.v
	sum := vs.weightSum()
	low := uint64(0) // quorum - hysteresis, 0 when hysteresis ≥ quorum
	if v.Hysteresis < v.Quorum {
		low = uint64(v.Quorum - v.Hysteresis)
	}
	attrs := func(in bool) []any {
		return []any{"virtual_server", vs.name, "weight_sum", sum, "quorum", v.Quorum, "hysteresis", v.Hysteresis,
			"sorry_server", sorryAction(v, in)}
	}
	switch {
	case !vs.quorumUp && sum >= uint64(v.Quorum)+uint64(v.Hysteresis):
		vs.quorumUp = true
		return append([]action{{slog.LevelInfo, "quorum gained", attrs(false), s.spec(v.QuorumUp, scripts), fifoIf(scripts, notifyfifo.VSLine(vs.fifoName, true)), nil}},
			s.vsAlert(vs, scripts, int64(v.Quorum)+int64(v.Hysteresis), sum)...)
	case vs.quorumUp && (sum == 0 || sum < low):
		vs.quorumUp = false
		return append([]action{{slog.LevelWarn, "quorum lost", attrs(true), s.spec(v.QuorumDown, scripts), fifoIf(scripts, notifyfifo.VSLine(vs.fifoName, false)), nil}},
			s.vsAlert(vs, scripts, int64(v.Quorum)-int64(v.Hysteresis), sum)...)
	}
	return nil
}

// fifoIf is line when the transition's notifies are sent (as its scripts:
// not for a removal or a shutdown outside omega mode), else "".
func fifoIf(notifies bool, line string) string {
	if !notifies {
		return ""
	}
	return line
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

// adopt makes s, built from a new configuration, continue from old: every
// check takes the state the health runner has for it (state: unchanged
// checks kept theirs, new ones start afresh), real servers follow their
// checks, and a virtual server old also had keeps its quorum state and is
// re-evaluated (running quorum_up / quorum_down on a change); a new one
// starts as at startup.
func (s *lvsState) adopt(old *lvsState, state func(id string) (healthcheck.State, bool)) []action {
	for id, cs := range s.byCheck {
		if st, ok := state(id); ok {
			cs.up, cs.weight = st.Up, st.Weight
		}
	}
	quorum := make(map[string]bool, len(old.vss))
	had := map[[2]string]bool{}
	for _, vs := range old.vss {
		quorum[vs.name] = vs.quorumUp
		for _, rs := range vs.rss {
			had[[2]string{vs.name, rs.name}] = true
		}
	}
	var acts []action
	for _, vs := range s.vss {
		for _, rs := range vs.rss {
			rs.up = rs.allUp()
			if !had[[2]string{vs.name, rs.name}] {
				acts = append(acts, s.initUp(rs)...)
			}
		}
		if q, ok := quorum[vs.name]; ok {
			vs.quorumUp = q
			acts = append(acts, s.updateQuorum(vs, true)...)
		} else {
			vs.initQuorum()
		}
	}
	return acts
}

// table is the desired IPVS table: every virtual server's services with the
// destinations of its current state.
func (s *lvsState) table() ipvs.Table {
	return tableOf(s.vss, (*vsState).destinations)
}

// services is the number of services of table().
func (s *lvsState) services() (n int) {
	for _, vs := range s.vss {
		n += len(vs.services)
	}
	return n
}

// tableOf is the table of vss with each one's destinations given by dests.
func tableOf(vss []*vsState, dests func(*vsState) []ipvs.Destination) ipvs.Table {
	var t ipvs.Table
	for _, vs := range vss {
		ds := dests(vs)
		for i, svc := range vs.services {
			svc.Destinations = ds
			if i < len(vs.services)-1 { // the last one takes ds itself
				svc.Destinations = slices.Clone(ds)
			}
			t.Services = append(t.Services, svc)
		}
	}
	return t
}

// configured are the real servers at their configured weights.
func (v *vsState) configured() []ipvs.Destination {
	ds := make([]ipvs.Destination, len(v.rss))
	for i, rs := range v.rss {
		ds[i] = rs.dest
	}
	return ds
}

// destinations are the virtual server's IPVS destinations: up real servers
// at their weight, down ones left out or at weight 0 with
// inhibit_on_failure; while quorum is lost a sorry_server (weight 1)
// replaces the real servers (keepalived's perform_quorum_state); otherwise
// it is left out, or kept at weight 0 with sorry_server_inhibit.
func (v *vsState) destinations() []ipvs.Destination {
	sorry := v.sorry != nil && !v.quorumUp
	var out []ipvs.Destination
	seen := map[netip.AddrPort]bool{}
	for _, rs := range v.rss {
		d := rs.dest
		switch {
		case rs.up && !sorry:
			d.Weight = int32(rs.weight())
		case rs.r.InhibitOnFailure || v.v.BGPAnnounce != nil:
			// bgp_announce: every director keeps the same real servers in
			// the same order, so that a hashing scheduler agrees.
			d.Weight = 0
		default:
			continue
		}
		seen[d.AddrPort()] = true
		out = append(out, d)
	}
	if v.sorry != nil && (sorry || v.v.SorryServer.Inhibit) && !seen[v.sorry.AddrPort()] {
		d := *v.sorry
		d.Weight = 0
		if sorry {
			d.Weight = 1
		}
		out = append(out, d)
	}
	return out
}

// rsAlert is a checker's SMTP_MSG_RS alert for cs's transition (the
// subject has rs's state, the body the checker's), sent for the transitions
// whose notifies run (not a removal, nor a shutdown outside omega mode) when
// rs has smtp_alert and alerts are configured.
func (s *lvsState) rsAlert(rs *rsState, cs *checkState, notifies, timedOut bool) []action {
	if s.mailRouterID == nil || !notifies || !rs.r.SMTPAlert {
		return nil
	}
	a := mail.RealServer(*s.mailRouterID, notifyfifo.Trio(rs.r.Addr, string(rs.vs.v.Protocol), rs.r.Port), rs.vs.fifoName, rs.up,
		mail.CheckerBody(checkerKind(cs.info.Checker), cs.up, timedOut))
	return []action{{alert: &a}}
}

// vsAlert is do_vs_notifies' SMTP_MSG_VS alert for a quorum change of vs.
func (s *lvsState) vsAlert(vs *vsState, notifies bool, threshold int64, sum uint64) []action {
	if s.mailRouterID == nil || !notifies || !vs.v.SMTPAlert {
		return nil
	}
	a := mail.VirtualServer(*s.mailRouterID, vs.fifoName, vs.quorumUp, vs.v.Quorum, vs.v.Hysteresis, threshold, sum)
	return []action{{alert: &a}}
}
