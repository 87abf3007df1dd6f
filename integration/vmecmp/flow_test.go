//go:build vm

package vmecmp

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
)

// heartbeat is each flow's send interval (doc.go).
const heartbeat = 500 * time.Millisecond

// flow is one long-lived TCP connection from the client to the VIP: a
// heartbeat line every 500 ms, each echoed by the real server with its name.
type flow struct {
	*vmlab.Flow
	id  int
	key connKey
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
	key := connKey{src, uint16(tc.LocalAddr().(*net.TCPAddr).Port)}
	return &flow{Flow: vmlab.StartFlow(tc, heartbeat, stop), id: id, key: key}, nil
}
