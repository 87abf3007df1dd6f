//go:build vm

package vmecmp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// heartbeat is each flow's send interval (doc.go).
const heartbeat = 500 * time.Millisecond

// flow is one long-lived TCP connection from the client to the VIP: a
// heartbeat line every 500 ms, each echoed by the real server with its name.
type flow struct {
	id   int
	conn *net.TCPConn
	key  connKey

	mu     sync.Mutex
	rs     string      // the real server that answered first
	moved  string      // a different real server that answered later
	echoes []time.Time // when each echo arrived
	err    error       // the first read/write error or protocol violation
}

// openFlow connects from src in the client node and starts the heartbeat.
func openFlow(client *netlab.Node, id int, src netip.Addr, stop <-chan struct{}) (*flow, error) {
	var c net.Conn
	err := client.Do(func() (err error) {
		d := net.Dialer{Timeout: 15 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err = d.Dial("tcp4", netip.AddrPortFrom(vip, svcPort).String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("flow %d: %w", id, err)
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(false) // Nagle: one segment in flight, a thin stream
	f := &flow{id: id, conn: tc, key: connKey{src, uint16(tc.LocalAddr().(*net.TCPAddr).Port)}}
	go f.write(stop)
	go f.read()
	return f, nil
}

func (f *flow) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *flow) write(stop <-chan struct{}) {
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		if _, err := fmt.Fprintf(f.conn, "%d\n", seq); err != nil {
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

func (f *flow) read() {
	sc := bufio.NewScanner(f.conn)
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

// state is a snapshot of a flow.
type state struct {
	rs, moved string
	err       error
	echoes    []time.Time
}

func (f *flow) state() state {
	f.mu.Lock()
	defer f.mu.Unlock()
	return state{f.rs, f.moved, f.err, slices.Clone(f.echoes)}
}

// stall is the longest gap between echoes from one second before t on, and
// up to now when the flow got no echo after t.
func (s state) stall(t, now time.Time) time.Duration {
	var prev time.Time
	var worst time.Duration
	for _, e := range s.echoes {
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

// percentiles returns p50, p99 and max of ds (zero when empty).
func percentiles(ds []time.Duration) (p50, p99, worst time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	idx := func(p int) int { return max((len(s)*p+99)/100-1, 0) }
	return s[idx(50)], s[idx(99)], s[len(s)-1]
}
