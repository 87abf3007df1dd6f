package runner

import (
	"errors"
	"log/slog"
	"testing"
)

// detachConn is a polled socket that records Detach.
type detachConn struct {
	quietConn
	detached int
	err      error
}

func (c *detachConn) Detach() error {
	c.detached++
	return c.err
}

// TestStartReaderDetaches: in poll mode a socket the loop polls itself
// leaves the Go runtime's poller (Detach) before the loop uses it, and is
// still polled when Detach fails.
func TestStartReaderDetaches(t *testing.T) {
	for _, fail := range []error{nil, errors.New("no descriptors left")} {
		r := &Runner{polling: true, log: slog.New(slog.DiscardHandler)}
		c := &detachConn{err: fail}
		cs := &connState{c: c}
		r.startReader(cs)
		if c.detached != 1 || !cs.polled {
			t.Errorf("Detach error %v: Detach called %d times, polled %v; want once, true", fail, c.detached, cs.polled)
		}
	}
}
