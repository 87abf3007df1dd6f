package runner

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// The Runner's I/O goes through the small interfaces below; the real
// implementations are vrrpsock.Conn (via SocketFactory), vip.Manager,
// garp.Announcer, ExecScripts and NetlinkLinks. Tests use fakes.

// Conn is a VRRP socket on one interface (*vrrpsock.Conn). Send and Recv
// may run concurrently; Close unblocks Recv, which then returns an error
// matching net.ErrClosed.
type Conn interface {
	// SrcAddr is the source address of everything sent (for the VRRPv3
	// checksum pseudo-header and as the instance's primary address).
	SrcAddr() netip.Addr
	// Destinations are the multicast group, or the unicast peers.
	Destinations() []netip.Addr
	Send(payload []byte, dst netip.Addr) error
	// Recv returns the next VRRP payload (after the IP header), which may
	// alias buf, with its IP source, destination and TTL / hop limit.
	Recv(buf []byte) (vrrpsock.Packet, error)
	Close() error
}

var _ Conn = (*vrrpsock.Conn)(nil)

// ConnFactory opens the Runner's sockets. Instances whose socket settings
// (interface, family, group, source, peers) are equal share one Conn.
type ConnFactory interface {
	Open(cfg vrrpsock.Config) (Conn, error)
}

// SocketFactory opens real raw IP-112 sockets with vrrpsock.Open, in the
// network namespace of the calling thread.
type SocketFactory struct{}

var _ ConnFactory = SocketFactory{}

// Open implements ConnFactory.
func (SocketFactory) Open(cfg vrrpsock.Config) (Conn, error) {
	c, err := vrrpsock.Open(cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VIPManager adds and removes virtual addresses (*vip.Manager). Both are
// idempotent.
type VIPManager interface {
	Add(a vip.Address) error
	Remove(a vip.Address) error
}

var _ VIPManager = (*vip.Manager)(nil)

// RouteManager adds and removes routes and policy rules (*iproute.Manager).
// All four are idempotent.
type RouteManager interface {
	AddRoute(r iproute.Route) error
	RemoveRoute(r iproute.Route) error
	AddRule(r iproute.Rule) error
	RemoveRule(r iproute.Rule) error
}

var _ RouteManager = (*iproute.Manager)(nil)

// noRoutes is the RouteManager of a Runner given none.
type noRoutes struct{}

var errNoRoutes = errors.New("vrrp: runner: no RouteManager")

func (noRoutes) AddRoute(iproute.Route) error    { return errNoRoutes }
func (noRoutes) RemoveRoute(iproute.Route) error { return errNoRoutes }
func (noRoutes) AddRule(iproute.Rule) error      { return errNoRoutes }
func (noRoutes) RemoveRule(iproute.Rule) error   { return errNoRoutes }

var _ garp.Sender = (*garp.Announcer)(nil)

// firstSend is a garp.Sender that notes when its first successful Send of
// a flush returned: a takeover sends a burst (garp_master_repeat) at once,
// and its log line reports the first GARP's time, not the burst's end.
type firstSend struct {
	garp.Sender
	first time.Time // zero until a Send succeeded
}

var _ garp.Sender = (*firstSend)(nil)

func (f *firstSend) Send(a garp.Announcement) error {
	err := f.Sender.Send(a)
	if err == nil && f.first.IsZero() {
		f.first = time.Now()
	}
	return err
}

// garpPreparer is a garp.Sender that can open its sockets ahead of the
// first send (*garp.Announcer).
type garpPreparer interface {
	Prepare(iface string) error
}

var _ garpPreparer = (*garp.Announcer)(nil)

// ScriptRunner runs one external script to completion (script.Run). It is
// called on its own goroutine and must return soon after ctx is done.
type ScriptRunner interface {
	Run(ctx context.Context, spec script.Spec) script.Result
}

// ExecScripts runs scripts with internal/script.
type ExecScripts struct{}

var _ ScriptRunner = ExecScripts{}

// Run implements ScriptRunner.
func (ExecScripts) Run(ctx context.Context, spec script.Spec) script.Result {
	return script.Run(ctx, spec)
}

// LinkWatcher reports link state (track.WatchLinks): onSync gets a full
// dump first (and after each resubscription), onEvent every change in
// between. It blocks until ctx is done and then returns ctx.Err(); other
// errors are fatal to the Runner.
type LinkWatcher interface {
	WatchLinks(ctx context.Context, onSync func([]track.LinkEvent), onEvent func(track.LinkEvent)) error
}

// AddrWatcher reports the host's addresses (track.WatchAddrs), like
// LinkWatcher.
type AddrWatcher interface {
	WatchAddrs(ctx context.Context, onSync func([]track.AddrEvent), onEvent func(track.AddrEvent)) error
}

// NetlinkAddrs watches rtnetlink address notifications with track.WatchAddrs.
type NetlinkAddrs struct {
	Options track.WatchOptions
}

var _ AddrWatcher = NetlinkAddrs{}

// WatchAddrs implements AddrWatcher.
func (n NetlinkAddrs) WatchAddrs(ctx context.Context, onSync func([]track.AddrEvent), onEvent func(track.AddrEvent)) error {
	return track.WatchAddrs(ctx, n.Options, onSync, onEvent)
}

// IfaceSettings reads and sets per-interface kernel settings. Only
// net.ipv4.conf.IFACE.promote_secondaries so far.
type IfaceSettings interface {
	PromoteSecondaries(iface string) (bool, error)
	SetPromoteSecondaries(iface string, on bool) error
}

// ProcSys implements IfaceSettings with /proc/sys, in the calling thread's
// network namespace.
type ProcSys struct{}

var _ IfaceSettings = ProcSys{}

func promotePath(iface string) string {
	return "/proc/sys/net/ipv4/conf/" + iface + "/promote_secondaries"
}

// PromoteSecondaries implements IfaceSettings.
func (ProcSys) PromoteSecondaries(iface string) (bool, error) {
	b, err := os.ReadFile(promotePath(iface))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// SetPromoteSecondaries implements IfaceSettings.
func (ProcSys) SetPromoteSecondaries(iface string, on bool) error {
	v := "0\n"
	if on {
		v = "1\n"
	}
	return os.WriteFile(promotePath(iface), []byte(v), 0o644)
}

// NetlinkLinks watches rtnetlink link notifications with track.WatchLinks.
type NetlinkLinks struct {
	Options track.WatchOptions
}

var _ LinkWatcher = NetlinkLinks{}

// WatchLinks implements LinkWatcher.
func (n NetlinkLinks) WatchLinks(ctx context.Context, onSync func([]track.LinkEvent), onEvent func(track.LinkEvent)) error {
	return track.WatchLinks(ctx, n.Options, onSync, onEvent)
}
