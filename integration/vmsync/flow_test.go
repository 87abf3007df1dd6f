//go:build vm

package vmsync

import (
	"fmt"
	"net"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
)

const heartbeat = 100 * time.Millisecond

// flow is one long-lived TCP connection from the client to the VIP: a
// heartbeat line every 100 ms, each echoed by the real server with its name.
type flow struct {
	*vmlab.Flow
	id     int
	late   bool   // opened just before the failure, after the last sync message
	port   uint16 // client port
	opened time.Time
}

// openFlow connects from the client node and starts the heartbeat (Nagle on:
// a thin stream, doc.go).
func openFlow(client *netlab.Node, id int, late bool, stop <-chan struct{}) (*flow, error) {
	var c net.Conn
	err := client.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", vip, svcPort), 5*time.Second)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("flow %d: %w", id, err)
	}
	tc := c.(*net.TCPConn)
	port := uint16(tc.LocalAddr().(*net.TCPAddr).Port)
	return &flow{Flow: vmlab.StartFlow(tc, heartbeat, stop), id: id, late: late, port: port, opened: time.Now()}, nil
}

// syncStall is the longest gap between echoes of s from one second before t on,
// and up to now when the flow got no echo after t.
func syncStall(s vmlab.FlowState, t, now time.Time) time.Duration {
	if s.EchoedAfter(t) {
		now = s.Echoes[len(s.Echoes)-1] // no trailing gap
	}
	return s.Stall(t, now)
}
