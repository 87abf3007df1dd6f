package bgp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The tests run the speaker against a second, plain GoBGP server in the same
// process: the peer listens on its own loopback address (127.0.0.2, .3 ...)
// and a free port, the speaker connects from 127.0.0.1. GoBGP's first
// connection attempt comes 1.5-2 s after the neighbor is added, so each
// session costs about 2 s.

const (
	ourAS  = 65101
	peerAS = 65000
	hold   = 3 * time.Second // the minimum: keepalive 1 s
)

var us = netip.MustParseAddr("127.0.0.1")

// freePort is a TCP port that was free on addr a moment ago.
func freePort(t *testing.T, addr netip.Addr) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Skipf("cannot listen on %s (loopback addresses other than 127.0.0.1 needed): %v", addr, err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// testPeer is the router side: a plain GoBGP server with the speaker as a
// neighbor, passive (only the speaker opens sessions) unless the peer is
// told the speaker's listening port.
type testPeer struct {
	srv  *server.BgpServer
	addr netip.Addr
	port uint16
}

type peerConfig struct {
	password   string
	hold       time.Duration // 0: hold
	speaker    netip.Addr    // the speaker's address; zero: 127.0.0.1
	activePort uint16        // non-zero: connect to the speaker at this port
}

func newTestPeer(t *testing.T, addr string, pc peerConfig) *testPeer {
	t.Helper()
	if pc.hold == 0 {
		pc.hold = hold
	}
	if !pc.speaker.IsValid() {
		pc.speaker = us
	}
	a := netip.MustParseAddr(addr)
	p := &testPeer{srv: server.NewBgpServer(server.LoggerOption(slog.New(slog.DiscardHandler), nil)), addr: a, port: freePort(t, a)}
	go p.srv.Serve()
	t.Cleanup(p.srv.Stop)
	ctx := t.Context()
	if err := p.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: peerAS, RouterId: "192.0.2.254", ListenPort: int32(p.port), ListenAddresses: []string{addr},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: pc.speaker.String(), PeerAsn: ourAS, AuthPassword: pc.password},
		Timers:    &api.Timers{Config: &api.TimersConfig{HoldTime: uint64(pc.hold / time.Second), KeepaliveInterval: uint64(pc.hold / 3 / time.Second), ConnectRetry: 1}},
		Transport: &api.Transport{PassiveMode: pc.activePort == 0, RemotePort: uint32(pc.activePort), LocalAddress: addr},
	}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *testPeer) neighbor() Neighbor {
	return Neighbor{Address: p.addr, RemoteAS: peerAS, Port: p.port, HoldTime: hold}
}

// rib is the peer's global RIB: prefix -> next hop of the best path.
func rib(t *testing.T, srv *server.BgpServer) map[netip.Prefix]netip.Addr {
	t.Helper()
	out := map[netip.Prefix]netip.Addr{}
	for _, f := range []gobgp.Family{gobgp.RF_IPv4_UC, gobgp.RF_IPv6_UC} {
		err := srv.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: f},
			func(n gobgp.NLRI, paths []*apiutil.Path) {
				pfx, err := netip.ParsePrefix(n.String())
				if err != nil {
					t.Errorf("NLRI %s: %v", n, err)
					return
				}
				for _, a := range paths[0].Attrs {
					switch a := a.(type) {
					case *gobgp.PathAttributeNextHop:
						out[pfx] = a.Value
					case *gobgp.PathAttributeMpReachNLRI:
						out[pfx] = a.Nexthop
					}
				}
				if _, ok := out[pfx]; !ok {
					out[pfx] = netip.Addr{}
				}
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// waitFor polls cond every 10 ms until it holds or d passes (a bound on a
// real network exchange, not a tolerance on a sleep).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func peerStatus(s *Speaker, a netip.Addr) PeerStatus {
	for _, p := range s.Status().Peers {
		if p.Address == a {
			return p
		}
	}
	return PeerStatus{}
}

func established(s *Speaker, a netip.Addr) func() bool {
	return func() bool { return peerStatus(s, a).State == "established" }
}

// startSpeaker runs a speaker until the test ends.
func startSpeaker(t *testing.T, opts Options, reg prometheus.Registerer) *Speaker {
	t.Helper()
	s, err := New(opts, reg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runSpeaker(t, s)
	return s
}

// runSpeaker runs s until the test ends or the returned stop is called.
func runSpeaker(t *testing.T, s *Speaker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("speaker not ready after 10 s")
	}
	return stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func opts(n ...Neighbor) Options {
	return Options{RouterID: netip.MustParseAddr("10.251.0.11"), LocalAS: ourAS, Neighbors: n}
}

func TestSpeakerAnnounceWithdraw(t *testing.T) {
	peer := newTestPeer(t, "127.0.0.2", peerConfig{})
	reg := prometheus.NewPedanticRegistry()
	vip := netip.MustParsePrefix("10.251.9.1/32")
	early := netip.MustParsePrefix("10.251.9.2/32")

	s, err := New(opts(peer.neighbor()), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Announced before Run: sent once the session is up.
	if err := s.Announce(early, "before run"); err != nil {
		t.Fatal(err)
	}
	stop := runSpeaker(t, s)
	d := waitFor(t, 10*time.Second, "session established", established(s, peer.addr))
	t.Logf("established %s after Ready", d.Round(time.Millisecond))

	waitFor(t, 5*time.Second, "early prefix at the peer", func() bool { return rib(t, peer.srv)[early] == us })
	start := time.Now()
	if err := s.Announce(vip, "healthy"); err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(vip, "again"); err != nil { // idempotent
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "announced /32 at the peer", func() bool { return rib(t, peer.srv)[vip].IsValid() })
	t.Logf("announce to peer RIB: %s", time.Since(start).Round(time.Millisecond))
	if nh := rib(t, peer.srv)[vip]; nh != us {
		t.Errorf("next hop at the peer = %s, want %s (self)", nh, us)
	}

	// The peer announces a route to us: it reaches our Adj-RIB-In and
	// stops there.
	theirs := netip.MustParsePrefix("192.0.2.0/24")
	nlri, _ := gobgp.NewIPAddrPrefix(theirs)
	nh, _ := gobgp.NewPathAttributeNextHop(peer.addr)
	if _, err := peer.srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{{
		Family: gobgp.RF_IPv4_UC, Nlri: nlri, Attrs: []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0), nh},
	}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "peer route in our Adj-RIB-In", func() bool {
		n := 0
		_ = s.srv.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_ADJ_IN, Name: peer.addr.String(), Family: gobgp.RF_IPv4_UC},
			func(gobgp.NLRI, []*apiutil.Path) { n++ })
		return n == 1
	})
	if got := rib(t, s.srv); len(got) != 2 || !got[vip].IsValid() || !got[early].IsValid() {
		t.Errorf("our RIB = %v, want only our two prefixes (peer routes rejected)", got)
	}

	start = time.Now()
	if err := s.Withdraw(vip, "0 of 2 healthy"); err != nil {
		t.Fatal(err)
	}
	if err := s.Withdraw(vip, "again"); err != nil { // idempotent
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "withdrawn /32 gone from the peer", func() bool { _, ok := rib(t, peer.srv)[vip]; return !ok })
	t.Logf("withdraw to peer RIB: %s", time.Since(start).Round(time.Millisecond))

	st := s.Status()
	if len(st.Prefixes) != 2 || st.Prefixes[0].Prefix != vip || st.Prefixes[0].Announced || st.Prefixes[0].Reason != "0 of 2 healthy" ||
		st.Prefixes[1].Prefix != early || !st.Prefixes[1].Announced || st.Prefixes[1].Reason != "before run" {
		t.Errorf("status prefixes = %+v", st.Prefixes)
	}
	if p := st.Peers[0]; p.State != "established" || p.Transitions != 1 || p.Uptime <= 0 || p.BFD != "" || !st.Running {
		t.Errorf("status = %+v", st)
	}

	want := `
# HELP lvs_ha_bgp_announces_total Prefixes announced (changes from withdrawn to announced).
# TYPE lvs_ha_bgp_announces_total counter
lvs_ha_bgp_announces_total 2
# HELP lvs_ha_bgp_peer_transitions_total Changes of the BGP session into and out of Established.
# TYPE lvs_ha_bgp_peer_transitions_total counter
lvs_ha_bgp_peer_transitions_total{neighbor="127.0.0.2"} 1
# HELP lvs_ha_bgp_peer_up 1 while the BGP session with the neighbor is Established.
# TYPE lvs_ha_bgp_peer_up gauge
lvs_ha_bgp_peer_up{neighbor="127.0.0.2"} 1
# HELP lvs_ha_bgp_prefix_announced 1 while the prefix is announced, 0 after it was withdrawn.
# TYPE lvs_ha_bgp_prefix_announced gauge
lvs_ha_bgp_prefix_announced{prefix="10.251.9.1/32"} 0
lvs_ha_bgp_prefix_announced{prefix="10.251.9.2/32"} 1
# HELP lvs_ha_bgp_withdraws_total Prefixes withdrawn (changes from announced to withdrawn).
# TYPE lvs_ha_bgp_withdraws_total counter
lvs_ha_bgp_withdraws_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", probs, err)
	}

	if err := s.WithdrawAll("shutdown"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "peer RIB empty after WithdrawAll", func() bool {
		got := rib(t, peer.srv)
		delete(got, theirs)
		return len(got) == 0
	})

	// Announced again, then Run ends: the peer gets a Cease and drops
	// our routes at once, without waiting for the hold time.
	if err := s.Announce(vip, "healthy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "announced again", func() bool { return rib(t, peer.srv)[vip].IsValid() })
	stop()
	d = waitFor(t, hold-time.Second, "peer drops our routes when Run ends", func() bool { _, ok := rib(t, peer.srv)[vip]; return !ok })
	t.Logf("Run ended -> routes gone at the peer: %s", d.Round(time.Millisecond))
	if st := s.Status(); st.Running || st.Peers[0].State != "unknown" {
		t.Errorf("status after Run: %+v", st)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
}

func TestSpeakerUpdateKeepsSessions(t *testing.T) {
	a := newTestPeer(t, "127.0.0.3", peerConfig{})
	b := newTestPeer(t, "127.0.0.4", peerConfig{})
	s := startSpeaker(t, opts(a.neighbor()), nil)
	waitFor(t, 10*time.Second, "session A", established(s, a.addr))
	before := peerStatus(s, a.addr)

	if err := s.Update(opts(a.neighbor(), b.neighbor())); err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, 10*time.Second, "session B after Update", established(s, b.addr))
	t.Logf("added neighbor established in %s", d.Round(time.Millisecond))
	if got := peerStatus(s, a.addr); got.Transitions != before.Transitions || !got.Since.Equal(before.Since) || got.State != "established" {
		t.Errorf("session A after adding B: %+v, before %+v (want untouched)", got, before)
	}

	// Removing A closes its session; changing B's hold time resets B.
	nb := b.neighbor()
	nb.HoldTime = 6 * time.Second
	if err := s.Update(opts(nb)); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); len(st.Peers) != 1 || st.Peers[0].Address != b.addr {
		t.Errorf("peers after removing A: %+v", st.Peers)
	}
	d = waitFor(t, 5*time.Second, "A's peer sees the session closed", func() bool {
		up, found := false, false
		err := a.srv.ListPeer(context.Background(), &api.ListPeerRequest{}, func(p *api.Peer) {
			found = true
			up = p.GetState().GetSessionState() == api.PeerState_SESSION_STATE_ESTABLISHED
		})
		if err != nil || !found {
			t.Fatalf("peer A's neighbor list: %v (found %v)", err, found)
		}
		return !up
	})
	t.Logf("removed neighbor's session closed at the peer in %s", d.Round(time.Millisecond))
	// B was deleted and added again with the new hold time (its session
	// comes back once the peer's fixed 5 s idle hold after a drop is over;
	// not waited for here).
	if got := peerStatus(s, b.addr); got.State == "established" || got.Transitions != 0 {
		t.Errorf("changed neighbor B not reset: %+v", got)
	}
	var holdB uint64
	_ = s.srv.ListPeer(context.Background(), &api.ListPeerRequest{Address: b.addr.String()}, func(p *api.Peer) {
		holdB = p.GetTimers().GetConfig().GetHoldTime()
	})
	if holdB != 6 {
		t.Errorf("GoBGP's hold time for B after Update = %d, want 6", holdB)
	}

	if err := s.Update(Options{RouterID: netip.MustParseAddr("10.0.0.1"), LocalAS: ourAS}); !errors.Is(err, ErrRestartRequired) {
		t.Errorf("Update with another router id: %v, want ErrRestartRequired", err)
	}
}

// proxy forwards TCP from its own address to the peer until frozen; frozen,
// it keeps the connections open and forwards nothing (a black hole).
type proxy struct {
	addr   netip.AddrPort
	mu     sync.Mutex
	frozen chan struct{}
}

func newProxy(t *testing.T, listen string, to netip.AddrPort) *proxy {
	t.Helper()
	la := netip.MustParseAddr(listen)
	l, err := net.Listen("tcp", netip.AddrPortFrom(la, 0).String())
	if err != nil {
		t.Skipf("listen on %s: %v", la, err)
	}
	t.Cleanup(func() { l.Close() })
	p := &proxy{addr: l.Addr().(*net.TCPAddr).AddrPort(), frozen: make(chan struct{})}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", to.String())
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); u.Close() })
			go p.copy(u, c)
			go p.copy(c, u)
		}
	}()
	return p
}

func (p *proxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-make(chan struct{}) // swallow everything, forever (closed by Cleanup)
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) freeze() { close(p.frozen) }

func TestSpeakerHoldTimeExpiry(t *testing.T) {
	peer := newTestPeer(t, "127.0.0.5", peerConfig{})
	px := newProxy(t, "127.0.0.6", netip.AddrPortFrom(peer.addr, peer.port))
	n := Neighbor{Address: px.addr.Addr(), RemoteAS: peerAS, Port: px.addr.Port(), HoldTime: hold}
	s := startSpeaker(t, opts(n), nil)
	waitFor(t, 10*time.Second, "session through the proxy", established(s, n.Address))
	px.freeze()
	d := waitFor(t, 3*hold, "session down after the peer went silent", func() bool { return !established(s, n.Address)() })
	t.Logf("peer silent -> session down: %s (hold time %s)", d.Round(time.Millisecond), hold)
	if d < hold-1500*time.Millisecond { // keepalives are 1 s apart: the last one can be up to 1 s old
		t.Errorf("session down %s after freezing, before the hold time %s could expire", d, hold)
	}
	if got := peerStatus(s, n.Address); got.Transitions != 2 || got.Uptime != 0 || !strings.HasPrefix(got.LastDown, "hold timer expired") {
		t.Errorf("after expiry: %+v, want 2 transitions, no uptime, last_down hold timer expired", got)
	}
}

func TestSpeakerMD5(t *testing.T) {
	good := newTestPeer(t, "127.0.0.7", peerConfig{password: "s3cret"})
	bad := newTestPeer(t, "127.0.0.8", peerConfig{password: "s3cret"})
	ng := good.neighbor()
	ng.Password = "s3cret"
	nb := bad.neighbor() // no password: the peer must refuse the segments
	s, err := New(opts(ng, nb), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	runSpeaker(t, s)
	start := time.Now()
	deadline := 10 * time.Second
	for !established(s, ng.Address)() {
		if time.Since(start) > deadline {
			t.Skipf("no session with TCP MD5 after %s (TCP_MD5SIG unavailable here?): %+v", deadline, peerStatus(s, ng.Address))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The other session had the same time to come up (both neighbors are
	// tried together) plus 2 s, more than GoBGP's first connect delay.
	time.Sleep(2 * time.Second)
	if got := peerStatus(s, nb.Address); got.State == "established" {
		t.Errorf("session without the peer's MD5 password established: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := opts(Neighbor{Address: netip.MustParseAddr("10.0.0.1"), RemoteAS: 65000})
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	bfd := func(b BFD) *BFD { return &b }
	tests := []struct {
		name string
		mod  func(o *Options)
		want string
	}{
		{"no router id", func(o *Options) { o.RouterID = netip.Addr{} }, "router_id: missing"},
		{"v6 router id", func(o *Options) { o.RouterID = netip.MustParseAddr("::1") }, "router_id ::1: must be an IPv4 address"},
		{"no local as", func(o *Options) { o.LocalAS = 0 }, "local_as"},
		{"no neighbor address", func(o *Options) { o.Neighbors[0].Address = netip.Addr{} }, "neighbor 1: address missing"},
		{"duplicate", func(o *Options) { o.Neighbors = append(o.Neighbors, o.Neighbors[0]) }, "neighbor 10.0.0.1: duplicate"},
		{"mapped address", func(o *Options) { o.Neighbors[0].Address = netip.MustParseAddr("::ffff:10.0.0.1") }, "IPv4-mapped"},
		{"no remote as", func(o *Options) { o.Neighbors[0].RemoteAS = 0 }, "neighbor 10.0.0.1: remote_as"},
		{"short hold", func(o *Options) { o.Neighbors[0].HoldTime = 2 * time.Second }, "neighbor 10.0.0.1: hold_time 2s"},
		{"fractional hold", func(o *Options) { o.Neighbors[0].HoldTime = 3500 * time.Millisecond }, "whole seconds"},
		{"ibgp multihop", func(o *Options) { o.Neighbors[0].RemoteAS = ourAS; o.Neighbors[0].EBGPMultihop = 2 }, "ebgp_multihop"},
		{"local address family", func(o *Options) { o.Neighbors[0].LocalAddress = netip.MustParseAddr("::1") }, "local_address ::1"},
		{"long password", func(o *Options) { o.Neighbors[0].Password = strings.Repeat("x", 81) }, "password"},
		{"bfd negative", func(o *Options) { o.Neighbors[0].BFD = bfd(BFD{MinTx: -1}) }, "bfd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(Neighbor{Address: netip.MustParseAddr("10.0.0.1"), RemoteAS: 65000})
			tt.mod(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want it to mention %q", err, tt.want)
			}
			if _, nerr := New(o, nil, nil); nerr == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
}

func TestAnnounceRejectsBadPrefixes(t *testing.T) {
	s, err := New(opts(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("10.0.0.1/24"), netip.PrefixFrom(netip.MustParseAddr("::ffff:10.0.0.1"), 128)} {
		if err := s.Announce(p, ""); err == nil {
			t.Errorf("Announce(%v) accepted", p)
		}
	}
	if err := s.Withdraw(netip.MustParsePrefix("10.0.0.1/32"), "never announced"); err != nil {
		t.Errorf("Withdraw of an unknown prefix: %v", err)
	}
	if st := s.Status(); len(st.Prefixes) != 0 || st.Running {
		t.Errorf("status: %+v", st)
	}
}

func TestSpeakerIPv6(t *testing.T) {
	// ::1 is the only IPv6 loopback address: speaker and peer share it.
	lo6 := netip.MustParseAddr("::1")
	peer := newTestPeer(t, "::1", peerConfig{speaker: lo6})
	s := startSpeaker(t, opts(peer.neighbor()), nil)
	vip := netip.MustParsePrefix("2001:db8:9::1/128")
	if err := s.Announce(vip, "healthy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "IPv6 session", established(s, lo6))
	waitFor(t, 5*time.Second, "/128 at the peer", func() bool { return rib(t, peer.srv)[vip].IsValid() })
	if nh := rib(t, peer.srv)[vip]; nh != lo6 {
		t.Errorf("next hop of %s at the peer = %s, want %s (self)", vip, nh, lo6)
	}
	if err := s.Withdraw(vip, "down"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "/128 withdrawn", func() bool { _, ok := rib(t, peer.srv)[vip]; return !ok })
}

func TestSpeakerPassiveAndLocalAddress(t *testing.T) {
	// The speaker waits for the router's connection on its listening port
	// (179 in production; a free port here) from its local_address.
	local := netip.MustParseAddr("127.0.0.11")
	port := freePort(t, local)
	peer := newTestPeer(t, "127.0.0.10", peerConfig{speaker: local, activePort: port})
	n := peer.neighbor()
	n.Passive = true
	n.LocalAddress = local
	s, err := New(opts(n), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.listenPort != 179 {
		t.Errorf("listen port with a passive neighbor = %d, want 179", s.listenPort)
	}
	s.listenPort = int32(port)
	runSpeaker(t, s)
	vip := netip.MustParsePrefix("10.251.9.3/32")
	if err := s.Announce(vip, "healthy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "session opened by the peer", established(s, n.Address))
	waitFor(t, 5*time.Second, "/32 at the peer", func() bool { return rib(t, peer.srv)[vip].IsValid() })
	if nh := rib(t, peer.srv)[vip]; nh != local {
		t.Errorf("next hop = %s, want the local address %s", nh, local)
	}
}

func TestUpdateBeforeRun(t *testing.T) {
	a := Neighbor{Address: netip.MustParseAddr("192.0.2.1"), RemoteAS: 65000}
	b := Neighbor{Address: netip.MustParseAddr("192.0.2.2"), RemoteAS: 65000, Passive: true}
	s, err := New(opts(a), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.listenPort != -1 {
		t.Errorf("listen port without passive neighbors = %d, want -1 (none)", s.listenPort)
	}
	if err := s.Update(opts(b)); err != nil {
		t.Fatal(err)
	}
	if s.listenPort != 179 {
		t.Errorf("listen port after adding a passive neighbor before Run = %d, want 179", s.listenPort)
	}
	if st := s.Status(); len(st.Peers) != 1 || st.Peers[0].Address != b.Address {
		t.Errorf("peers after Update: %+v", st.Peers)
	}
	bad := opts(b)
	bad.Neighbors[0].RemoteAS = 0
	if err := s.Update(bad); err == nil || !strings.Contains(err.Error(), "remote_as") {
		t.Errorf("Update with invalid options: %v", err)
	}
}
