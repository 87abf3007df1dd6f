package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/prometheus/client_golang/prometheus"
)

// Announcer is what the daemon needs of a speaker: change the announced
// prefixes. *Speaker implements it; tests use fakes.
type Announcer interface {
	Announce(p netip.Prefix, reason string) error
	Withdraw(p netip.Prefix, reason string) error
	WithdrawAll(reason string) error
}

var _ Announcer = (*Speaker)(nil)

// ErrRestartRequired is returned (wrapped) by [Speaker.Update] when the new
// options change the router id or local AS: GoBGP cannot change them on a
// running server, so the caller must stop this speaker and start a new one.
var ErrRestartRequired = errors.New("router_id or local_as changed: the speaker must be restarted")

// connectRetry is how often GoBGP retries an outgoing connection, and
// idleHoldAfterReset how long a session stays idle after a reset; GoBGP's
// defaults (120 s, 30 s) keep a director out of the ECMP group long after
// its router is back.
const (
	connectRetry       = 5 * time.Second
	idleHoldAfterReset = 5 * time.Second
	opTimeout          = 10 * time.Second
	importPolicyName   = "lvs-ha-import-local-only"
)

// Speaker is a BGP speaker announcing host routes. Its methods are safe for
// concurrent use.
type Speaker struct {
	log   *slog.Logger
	now   func() time.Time
	ready chan struct{}

	// bfdPort overrides the BFD destination port of every neighbor (tests
	// only: GoBGP's BFD listener is fixed at 3784, so an in-process peer has
	// to listen elsewhere).
	bfdPort uint16
	// listenPort is GoBGP's listen port: -1 none.
	listenPort int32

	// opMu serialises operations on the GoBGP server (never held by GoBGP
	// callbacks); mu guards the fields below and is never held while
	// calling GoBGP.
	opMu sync.Mutex
	srv  *server.BgpServer // set while Run runs, under opMu
	// live is srv for readers (Status, scrapes) that must not wait for an
	// operation holding opMu.
	live atomic.Pointer[server.BgpServer]

	mu       sync.Mutex
	started  bool
	running  bool
	opts     Options
	peers    map[netip.Addr]*peerInfo
	prefixes map[netip.Prefix]*prefixInfo
	announces,
	withdraws uint64
}

type peerInfo struct {
	state       gobgp.FSMState
	since       time.Time // established since
	transitions uint64
	lastDown    string
}

type prefixInfo struct {
	announced bool
	reason    string
	since     time.Time
	uuid      uuid.UUID // GoBGP path while announced and running
}

// New validates opts and returns a speaker; it starts nothing until Run.
// reg may be nil (no metrics), log may be nil (discard).
func New(opts Options, reg prometheus.Registerer, log *slog.Logger) (*Speaker, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Speaker{
		log:        log,
		now:        time.Now,
		ready:      make(chan struct{}),
		opts:       cloneOptions(opts),
		peers:      map[netip.Addr]*peerInfo{},
		prefixes:   map[netip.Prefix]*prefixInfo{},
		listenPort: listenPortFor(opts),
	}
	for _, n := range opts.Neighbors {
		s.peers[n.Address] = &peerInfo{}
	}
	if reg != nil {
		if err := reg.Register(&collector{s: s}); err != nil {
			return nil, fmt.Errorf("bgp: registering metrics: %w", err)
		}
	}
	return s, nil
}

// listenPortFor is 179 when a neighbor is passive (it waits for the peer to
// connect), else -1: GoBGP then opens no listening socket and every session
// is opened by us.
func listenPortFor(o Options) int32 {
	for _, n := range o.Neighbors {
		if n.Passive {
			return int32(gobgp.BGP_PORT)
		}
	}
	return -1
}

func cloneOptions(o Options) Options {
	o.Neighbors = slices.Clone(o.Neighbors)
	for i, n := range o.Neighbors {
		if n.BFD != nil {
			b := *n.BFD
			o.Neighbors[i].BFD = &b
		}
	}
	return o
}

// Run starts GoBGP, configures the neighbors, announces the prefixes
// announced so far and blocks until ctx is done; then it closes the sessions
// (a Cease NOTIFICATION to each peer) and stops GoBGP. Run may be called
// once.
func (s *Speaker) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("bgp: Run called twice")
	}
	s.started = true
	opts := cloneOptions(s.opts)
	s.mu.Unlock()

	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	glog := slog.New(minLevelHandler{min: lv, h: s.log.Handler()}).With("component", "gobgp")
	srv := server.NewBgpServer(server.LoggerOption(glog, lv))
	go srv.Serve()
	defer srv.Stop()

	if err := s.start(ctx, srv, opts); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	s.log.Info("bgp speaker started", "router_id", opts.RouterID, "local_as", opts.LocalAS, "neighbors", len(opts.Neighbors))
	close(s.ready)
	<-ctx.Done()

	s.opMu.Lock()
	s.srv = nil
	s.live.Store(nil)
	s.mu.Lock()
	s.running = false
	for _, p := range s.prefixes {
		p.uuid = uuid.Nil
	}
	s.mu.Unlock()
	s.opMu.Unlock()
	s.log.Info("bgp speaker stopping")
	return nil
}

func (s *Speaker) start(ctx context.Context, srv *server.BgpServer, opts Options) error {
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        opts.LocalAS,
		RouterId:   opts.RouterID.String(),
		ListenPort: s.listenPort,
	}}); err != nil {
		return fmt.Errorf("starting GoBGP: %w", err)
	}
	// Accept our own (locally originated) paths, reject everything a peer
	// sends: the global import policy is also applied to local paths, so a
	// bare default-reject would withdraw our own announcements.
	if err := srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{
		Name: importPolicyName,
		Statements: []*api.Statement{{
			Name:       importPolicyName + "-local",
			Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
			Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
		}},
	}}); err != nil {
		return fmt.Errorf("adding import policy: %w", err)
	}
	if err := srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_IMPORT,
		Policies:      []*api.Policy{{Name: importPolicyName}},
		DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}}); err != nil {
		return fmt.Errorf("assigning import policy: %w", err)
	}
	if err := srv.WatchEvent(ctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: s.onPeerEvent,
	}, server.WatchPeer()); err != nil {
		return fmt.Errorf("watching peers: %w", err)
	}

	s.opMu.Lock()
	defer s.opMu.Unlock()
	for _, n := range opts.Neighbors {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(n)}); err != nil {
			return fmt.Errorf("neighbor %s: %w", n.Address, err)
		}
	}
	s.srv = srv
	s.live.Store(srv)
	s.mu.Lock()
	s.running = true
	var todo []netip.Prefix
	for p, st := range s.prefixes {
		if st.announced {
			todo = append(todo, p)
		}
	}
	s.mu.Unlock()
	for _, p := range todo {
		if err := s.addPath(p); err != nil {
			return err
		}
	}
	return nil
}

// apiPeer is GoBGP's configuration of neighbor n.
func (s *Speaker) apiPeer(n Neighbor) *api.Peer {
	hold := n.HoldTime
	if hold == 0 {
		hold = DefaultHoldTime
	}
	p := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: n.Address.String(),
			PeerAsn:         n.RemoteAS,
			AuthPassword:    n.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:               uint64(hold / time.Second),
			KeepaliveInterval:      uint64(hold / 3 / time.Second),
			ConnectRetry:           uint64(connectRetry / time.Second),
			IdleHoldTimeAfterReset: uint64(idleHoldAfterReset / time.Second),
		}},
		Transport: &api.Transport{
			PassiveMode: n.Passive,
			RemotePort:  uint32(n.Port),
		},
		GracefulRestart: &api.GracefulRestart{Enabled: false},
	}
	if n.LocalAddress.IsValid() {
		p.Transport.LocalAddress = n.LocalAddress.String()
	}
	if n.EBGPMultihop != 0 {
		p.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(n.EBGPMultihop)}
	}
	if b := n.BFD; b != nil {
		p.Bfd = &api.BfdPeerConfig{
			Enabled:                  true,
			Port:                     uint32(s.bfdPort),
			DesiredMinimumTxInterval: uint32(b.MinTx / time.Microsecond),
			RequiredMinimumReceive:   uint32(b.MinRx / time.Microsecond),
			DetectionMultiplier:      uint32(b.Multiplier),
		}
	}
	return p
}

// onPeerEvent records session state changes (GoBGP's watcher goroutine).
func (s *Speaker) onPeerEvent(ev *apiutil.WatchEventMessage_PeerEvent, t time.Time) {
	if ev.Type != apiutil.PEER_EVENT_STATE {
		return
	}
	addr := ev.Peer.State.NeighborAddress
	st := ev.Peer.State.SessionState
	s.mu.Lock()
	pi, ok := s.peers[addr]
	if !ok {
		s.mu.Unlock()
		return
	}
	was := pi.state
	pi.state = st
	up := st == gobgp.BGP_FSM_ESTABLISHED
	wasUp := was == gobgp.BGP_FSM_ESTABLISHED
	if up != wasUp {
		pi.transitions++
		if up {
			pi.since = s.now()
		} else {
			pi.since = time.Time{}
			pi.lastDown = disconnectReason(ev.Peer.State.DisconnectReason, ev.Peer.State.DisconnectMessage)
		}
	}
	s.mu.Unlock()
	if up != wasUp {
		if up {
			s.log.Info("bgp session established", "neighbor", addr)
		} else {
			s.log.Warn("bgp session down", "neighbor", addr, "state", stateName(st),
				"reason", disconnectReason(ev.Peer.State.DisconnectReason, ev.Peer.State.DisconnectMessage))
		}
	}
}

// disconnectReason is GoBGP's reason for a session drop in words:
// "hold timer expired: hold-timer-expired".
func disconnectReason(r api.PeerState_DisconnectReason, msg string) string {
	s := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(r.String(), "DISCONNECT_REASON_")), "_", " ")
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// Ready is closed once Run has started GoBGP and configured the neighbors.
func (s *Speaker) Ready() <-chan struct{} { return s.ready }

func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("bgp: invalid prefix")
	}
	if p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return fmt.Errorf("bgp: prefix %s: zoned or IPv4-mapped addresses are not supported", p)
	}
	if p != p.Masked() {
		return fmt.Errorf("bgp: prefix %s: host bits set (want %s)", p, p.Masked())
	}
	return nil
}

// Announce announces p (next hop self) to every neighbor of its address
// family. Idempotent: announcing an announced prefix changes nothing.
// Before Run (or after it returned) the prefix is recorded and announced
// when GoBGP starts.
func (s *Speaker) Announce(p netip.Prefix, reason string) error {
	if err := checkPrefix(p); err != nil {
		return err
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	st := s.prefixes[p]
	if st == nil {
		st = &prefixInfo{}
		s.prefixes[p] = st
	}
	if st.announced {
		s.mu.Unlock()
		return nil
	}
	st.announced, st.reason, st.since = true, reason, s.now()
	s.announces++
	s.mu.Unlock()
	s.log.Info("bgp announce", "prefix", p, "reason", reason)
	if s.srv == nil {
		return nil
	}
	return s.addPath(p)
}

// addPath hands p to GoBGP; opMu held, s.srv set.
func (s *Speaker) addPath(p netip.Prefix) error {
	nlri, err := gobgp.NewIPAddrPrefix(p)
	if err != nil {
		return fmt.Errorf("bgp: prefix %s: %w", p, err)
	}
	family, nh := gobgp.RF_IPv4_UC, netip.IPv4Unspecified()
	if p.Addr().Is6() {
		family, nh = gobgp.RF_IPv6_UC, netip.IPv6Unspecified()
	}
	var attrs []gobgp.PathAttributeInterface
	attrs = append(attrs, gobgp.NewPathAttributeOrigin(gobgp.BGP_ORIGIN_ATTR_TYPE_IGP))
	if family == gobgp.RF_IPv4_UC {
		a, err := gobgp.NewPathAttributeNextHop(nh)
		if err != nil {
			return fmt.Errorf("bgp: prefix %s: %w", p, err)
		}
		attrs = append(attrs, a)
	} else {
		a, err := gobgp.NewPathAttributeMpReachNLRI(family, []gobgp.PathNLRI{{NLRI: nlri}}, nh)
		if err != nil {
			return fmt.Errorf("bgp: prefix %s: %w", p, err)
		}
		attrs = append(attrs, a)
	}
	res, err := s.srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{{
		Family: family,
		Nlri:   nlri,
		Attrs:  attrs,
	}}})
	if err == nil && len(res) == 1 {
		err = res[0].Error
	}
	if err != nil {
		return fmt.Errorf("bgp: announcing %s: %w", p, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("bgp: announcing %s: GoBGP returned %d paths", p, len(res))
	}
	s.mu.Lock()
	s.prefixes[p].uuid = res[0].UUID
	s.mu.Unlock()
	return nil
}

// Withdraw withdraws p. Idempotent: withdrawing a prefix that is not
// announced changes nothing.
func (s *Speaker) Withdraw(p netip.Prefix, reason string) error {
	if err := checkPrefix(p); err != nil {
		return err
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	return s.withdrawLocked(p, reason)
}

// withdrawLocked withdraws p; opMu held.
func (s *Speaker) withdrawLocked(p netip.Prefix, reason string) error {
	s.mu.Lock()
	st := s.prefixes[p]
	if st == nil || !st.announced {
		s.mu.Unlock()
		return nil
	}
	st.announced, st.reason, st.since = false, reason, s.now()
	id := st.uuid
	st.uuid = uuid.Nil
	s.withdraws++
	s.mu.Unlock()
	s.log.Info("bgp withdraw", "prefix", p, "reason", reason)
	if s.srv == nil || id == uuid.Nil {
		return nil
	}
	if err := s.srv.DeletePath(apiutil.DeletePathRequest{UUIDs: []uuid.UUID{id}}); err != nil {
		return fmt.Errorf("bgp: withdrawing %s: %w", p, err)
	}
	return nil
}

// WithdrawAll withdraws every announced prefix.
func (s *Speaker) WithdrawAll(reason string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	var todo []netip.Prefix
	for p, st := range s.prefixes {
		if st.announced {
			todo = append(todo, p)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range todo {
		errs = append(errs, s.withdrawLocked(p, reason))
	}
	return errors.Join(errs...)
}

// Update applies new options: neighbors are added, removed, or (when any of
// their settings changed) deleted and added again; the sessions of unchanged
// neighbors are left alone. A change of router id or local AS returns
// ErrRestartRequired and changes nothing.
func (s *Speaker) Update(opts Options) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	opts = cloneOptions(opts)
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	old := s.opts
	if opts.RouterID != old.RouterID || opts.LocalAS != old.LocalAS {
		s.mu.Unlock()
		return fmt.Errorf("bgp: %w", ErrRestartRequired)
	}
	if lp := listenPortFor(opts); lp != listenPortFor(old) {
		if s.started {
			s.mu.Unlock()
			return fmt.Errorf("bgp: first passive neighbor added or last one removed (listening socket): %w", ErrRestartRequired)
		}
		s.listenPort = lp
	}
	s.mu.Unlock()

	oldN := map[netip.Addr]Neighbor{}
	for _, n := range old.Neighbors {
		oldN[n.Address] = n
	}
	newN := map[netip.Addr]Neighbor{}
	for _, n := range opts.Neighbors {
		newN[n.Address] = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var errs []error
	for _, a := range slices.SortedFunc(maps.Keys(oldN), netip.Addr.Compare) {
		n, keep := newN[a]
		if keep && sameNeighbor(n, oldN[a]) {
			continue
		}
		if s.srv != nil {
			if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a.String()}); err != nil {
				errs = append(errs, fmt.Errorf("neighbor %s: removing: %w", a, err))
				continue
			}
		}
		s.mu.Lock()
		delete(s.peers, a)
		s.mu.Unlock()
		s.log.Info("bgp neighbor removed", "neighbor", a, "changed", keep)
	}
	for _, a := range slices.SortedFunc(maps.Keys(newN), netip.Addr.Compare) {
		n := newN[a]
		s.mu.Lock()
		_, exists := s.peers[a]
		if !exists {
			s.peers[a] = &peerInfo{}
		}
		s.mu.Unlock()
		if exists {
			continue
		}
		if s.srv != nil {
			if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(n)}); err != nil {
				errs = append(errs, fmt.Errorf("neighbor %s: adding: %w", a, err))
				s.mu.Lock()
				delete(s.peers, a)
				s.mu.Unlock()
				continue
			}
		}
		s.log.Info("bgp neighbor added", "neighbor", a)
	}
	// The stored options are those GoBGP runs with: a neighbor whose
	// addition failed is left out so that the next Update retries it.
	s.mu.Lock()
	opts.Neighbors = slices.DeleteFunc(opts.Neighbors, func(n Neighbor) bool { return s.peers[n.Address] == nil })
	for _, n := range old.Neighbors {
		if s.peers[n.Address] != nil && !slices.ContainsFunc(opts.Neighbors, func(m Neighbor) bool { return m.Address == n.Address }) {
			opts.Neighbors = append(opts.Neighbors, n) // removal failed: still running
		}
	}
	s.opts = opts
	s.mu.Unlock()
	return errors.Join(errs...)
}

func sameNeighbor(a, b Neighbor) bool {
	ab, bb := a.BFD, b.BFD
	a.BFD, b.BFD = nil, nil
	if a != b {
		return false
	}
	if (ab == nil) != (bb == nil) {
		return false
	}
	return ab == nil || *ab == *bb
}

// Status reports the speaker's peers and prefixes. While Run runs it asks
// GoBGP for BFD states (bounded by a short timeout).
func (s *Speaker) Status() Status {
	bfd := map[netip.Addr]string{}
	if srv := s.live.Load(); srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
			if p.GetState().GetBfdState() == nil || p.GetConf() == nil {
				return
			}
			a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
			if err != nil {
				return
			}
			bfd[a] = bfdStateName(p.GetState().GetBfdState().GetSessionState())
		})
		cancel()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := Status{RouterID: s.opts.RouterID, LocalAS: s.opts.LocalAS, Running: s.running}
	for _, n := range s.opts.Neighbors {
		ps := PeerStatus{Address: n.Address, RemoteAS: n.RemoteAS, State: "unknown"}
		if pi := s.peers[n.Address]; pi != nil {
			if s.running {
				ps.State = stateName(pi.state)
			}
			ps.Transitions = pi.transitions
			ps.LastDown = pi.lastDown
			if !pi.since.IsZero() {
				ps.Since = pi.since
				ps.Uptime = now.Sub(pi.since)
			}
		}
		if n.BFD != nil {
			ps.BFD = bfd[n.Address]
			if ps.BFD == "" {
				ps.BFD = "down"
			}
		}
		st.Peers = append(st.Peers, ps)
	}
	slices.SortFunc(st.Peers, func(a, b PeerStatus) int { return a.Address.Compare(b.Address) })
	for p, pi := range s.prefixes {
		st.Prefixes = append(st.Prefixes, PrefixStatus{Prefix: p, Announced: pi.announced, Reason: pi.reason, Since: pi.since})
	}
	slices.SortFunc(st.Prefixes, func(a, b PrefixStatus) int { return comparePrefix(a.Prefix, b.Prefix) })
	return st
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// stateName is the lower-case FSM state: idle, connect, active, opensent,
// openconfirm, established.
func stateName(st gobgp.FSMState) string {
	return strings.TrimPrefix(strings.ToLower(st.String()), "bgp_fsm_")
}

func bfdStateName(st api.BfdSessionState) string {
	switch st {
	case api.BfdSessionState_BFD_SESSION_STATE_UP:
		return "up"
	case api.BfdSessionState_BFD_SESSION_STATE_INIT:
		return "init"
	case api.BfdSessionState_BFD_SESSION_STATE_ADMIN_DOWN:
		return "admin_down"
	default:
		return "down"
	}
}

// minLevelHandler drops GoBGP's records below min: GoBGP logs every FSM
// step and keepalive at Info/Debug; the speaker logs session changes itself.
type minLevelHandler struct {
	min slog.Leveler
	h   slog.Handler
}

func (m minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min.Level() && m.h.Enabled(ctx, l)
}
func (m minLevelHandler) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevelHandler{min: m.min, h: m.h.WithAttrs(a)}
}
func (m minLevelHandler) WithGroup(g string) slog.Handler {
	return minLevelHandler{min: m.min, h: m.h.WithGroup(g)}
}
