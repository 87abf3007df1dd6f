package vmlab

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// The heartbeat flow harness the connection-survival drills (integration/vmsync,
// vmecmp) share: an [EchoServer] in each real server, long-lived client
// [Flow]s sending a numbered line every heartbeat, and the figures drawn from
// their echoes ([FlowState.Stall], [Percentiles], [Pauses]).

// EchoServer listens on port in the real server n and answers each line L
// with "<node name> L". Accepted connections keep Nagle on: one segment in
// flight, a thin stream. Cleanup closes the listener and its connections.
func EchoServer(t *testing.T, n *netlab.Node, port int) {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", n.Name(), err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	name := n.Name()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetNoDelay(false)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "%s %s\n", name, sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// Flow is one long-lived TCP connection from a client to an [EchoServer]
// (through the VIP): a numbered heartbeat line every interval, each echoed by
// the real server with its name.
type Flow struct {
	Conn *net.TCPConn

	mu     sync.Mutex
	rs     string      // the real server that answered first
	moved  string      // a different real server that answered later
	echoes []time.Time // when each echo arrived
	err    error       // the first read/write error or protocol violation
}

// StartFlow turns Nagle on for c (one segment in flight, a thin stream) and
// starts the heartbeat: a line every interval until stop is closed. The caller
// closes f.Conn.
func StartFlow(c *net.TCPConn, interval time.Duration, stop <-chan struct{}) *Flow {
	c.SetNoDelay(false)
	f := &Flow{Conn: c}
	go f.write(interval, stop)
	go f.read()
	return f
}

func (f *Flow) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *Flow) write(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		if _, err := fmt.Fprintf(f.Conn, "%d\n", seq); err != nil {
			f.fail(fmt.Errorf("write: %w", err))
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func (f *Flow) read() {
	sc := bufio.NewScanner(f.Conn)
	for seq := 1; sc.Scan(); seq++ {
		now := time.Now()
		name, n, _ := strings.Cut(sc.Text(), " ")
		f.mu.Lock()
		switch {
		case n != strconv.Itoa(seq):
			if f.err == nil {
				f.err = fmt.Errorf("echo %q, want sequence %d", sc.Text(), seq)
			}
		case f.rs == "":
			f.rs = name
		case name != f.rs && f.moved == "":
			f.moved = name
		}
		f.echoes = append(f.echoes, now)
		f.mu.Unlock()
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("connection closed")
	}
	f.fail(fmt.Errorf("read: %w", err))
}

// FlowState is a snapshot of a [Flow].
type FlowState struct {
	RS     string      // the real server that answered first
	Moved  string      // a different real server that answered later
	Err    error       // the first read/write error or protocol violation
	Echoes []time.Time // when each echo arrived
}

// State returns a snapshot of f.
func (f *Flow) State() FlowState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FlowState{f.rs, f.moved, f.err, slices.Clone(f.echoes)}
}

// EchoedAfter reports whether an echo arrived after t.
func (s FlowState) EchoedAfter(t time.Time) bool {
	return len(s.Echoes) > 0 && s.Echoes[len(s.Echoes)-1].After(t)
}

// Stall is the longest gap between echoes from one second before t on, and
// from the last echo up to now.
func (s FlowState) Stall(t, now time.Time) time.Duration {
	var prev time.Time
	var worst time.Duration
	for _, e := range s.Echoes {
		if e.Before(t.Add(-time.Second)) {
			prev = e
			continue
		}
		if !prev.IsZero() && e.Sub(prev) > worst {
			worst = e.Sub(prev)
		}
		prev = e
	}
	if !prev.IsZero() && now.Sub(prev) > worst {
		worst = now.Sub(prev)
	}
	return worst
}

// Percentiles returns p50, p99 and max of ds (zero when empty).
func Percentiles(ds []time.Duration) (p50, p99, worst time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	idx := func(p int) int { return max((len(s)*p+99)/100-1, 0) }
	return s[idx(50)], s[idx(99)], s[len(s)-1]
}

// Pauses measures how late a 10 ms timer fires in the test process: the
// longest time the VM (TCG vCPUs descheduled on a loaded host) or the process
// did not run. Flow stalls include such pauses.
type Pauses struct {
	stop, done chan struct{}
	worst      time.Duration
}

// WatchPauses starts measuring; [Pauses.End] stops.
func WatchPauses() *Pauses {
	p := &Pauses{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		const tick = 10 * time.Millisecond
		last := time.Now()
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(tick):
			}
			now := time.Now()
			if d := now.Sub(last) - tick; d > p.worst {
				p.worst = d
			}
			last = now
		}
	}()
	return p
}

// End stops the measurement and returns the longest pause seen.
func (p *Pauses) End() time.Duration {
	close(p.stop)
	<-p.done
	return p.worst
}
