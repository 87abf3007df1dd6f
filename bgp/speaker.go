package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

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

// Speaker is a BGP speaker announcing host routes.
type Speaker struct {
	opts  Options
	log   *slog.Logger
	ready chan struct{}
	srv   *server.BgpServer
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
	return &Speaker{opts: opts, log: log, ready: make(chan struct{})}, nil
}

// Run starts GoBGP, configures the neighbors and blocks until ctx is done;
// then it closes the sessions and stops GoBGP.
func (s *Speaker) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ready is closed once Run has started GoBGP and configured the neighbors.
func (s *Speaker) Ready() <-chan struct{} { return s.ready }

// Announce announces p (next hop self) to every neighbor. Idempotent.
func (s *Speaker) Announce(p netip.Prefix, reason string) error {
	return errors.New("bgp: not implemented")
}

// Withdraw withdraws p. Idempotent.
func (s *Speaker) Withdraw(p netip.Prefix, reason string) error {
	return errors.New("bgp: not implemented")
}

// WithdrawAll withdraws every announced prefix.
func (s *Speaker) WithdrawAll(reason string) error {
	return errors.New("bgp: not implemented")
}

// Update applies new options: neighbors are added, removed or changed;
// sessions whose settings did not change are left alone.
func (s *Speaker) Update(opts Options) error {
	return errors.New("bgp: not implemented")
}

// Status reports the speaker's peers and prefixes.
func (s *Speaker) Status() Status {
	return Status{RouterID: s.opts.RouterID, LocalAS: s.opts.LocalAS}
}
