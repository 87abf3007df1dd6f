package healthcheck

import (
	"context"
	"fmt"
	"time"
)

// TCPOptions configure a TCP_CHECK: the check succeeds when a TCP connection to
// the target is established within connect_timeout.
type TCPOptions struct {
	Conn
}

// TCPChecker is TCP_CHECK.
type TCPChecker struct {
	opts   TCPOptions
	target rawTarget // the event loop's (keepTarget)
}

var (
	_ Checker  = (*TCPChecker)(nil)
	_ Definer  = (*TCPChecker)(nil)
	_ Budgeter = (*TCPChecker)(nil)
)

// NewTCP validates opts and returns a TCP_CHECK checker.
func NewTCP(opts TCPOptions) (*TCPChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("TCP_CHECK: %w", err)
	}
	if opts.ConnectPort == 0 {
		return nil, fmt.Errorf("TCP_CHECK: connect_port: no port")
	}
	return &TCPChecker{opts: opts, target: opts.keepTarget()}, nil
}

// Definition returns the options.
func (c *TCPChecker) Definition() any { return c.opts }

// Budget is connect_timeout.
func (c *TCPChecker) Budget() time.Duration { return c.opts.timeout() }

// Check connects and closes the connection.
func (c *TCPChecker) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, c.opts.timeout())
	defer cancel()
	conn, err := c.opts.dialTCP(ctx, false)
	if err != nil {
		return errResult(ctx, start, "connect", ioErr(ctx, err))
	}
	_ = conn.Close()
	return okResult(start)
}
