package healthcheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// SMTPOptions configure an SMTP_CHECK.
type SMTPOptions struct {
	Conn
	// HeloName is helo_name; empty means this host's name.
	HeloName string
}

// SMTPChecker is SMTP_CHECK: read the 220 greeting, HELO → 250, QUIT.
type SMTPChecker struct{ opts SMTPOptions }

var (
	_ Checker  = (*SMTPChecker)(nil)
	_ Definer  = (*SMTPChecker)(nil)
	_ Budgeter = (*SMTPChecker)(nil)
)

// NewSMTP validates opts and returns an SMTP_CHECK checker.
func NewSMTP(opts SMTPOptions) (*SMTPChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("SMTP_CHECK: %w", err)
	}
	if opts.ConnectPort == 0 {
		return nil, errors.New("SMTP_CHECK: connect_port: no port")
	}
	if strings.ContainsAny(opts.HeloName, "\r\n") {
		return nil, fmt.Errorf("SMTP_CHECK: helo_name %q: contains a line break", opts.HeloName)
	}
	return &SMTPChecker{opts: opts}, nil
}

// Definition returns the options.
func (c *SMTPChecker) Definition() any { return c.opts }

// Budget is connect_timeout.
func (c *SMTPChecker) Budget() time.Duration { return c.opts.timeout() }

// Check runs the SMTP dialogue.
func (c *SMTPChecker) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, c.opts.timeout())
	defer cancel()
	conn, err := c.opts.dialer(false).DialContext(ctx, c.opts.network("tcp"), c.opts.target())
	if err != nil {
		return errResult(ctx, start, "connect", ioErr(ctx, err))
	}
	defer func() { _ = conn.Close() }()
	stop := bindConn(ctx, conn)
	defer stop()
	br := bufio.NewReader(conn)
	step := func(cmd string, want int) *Result {
		if cmd != "" {
			if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
				r := errResult(ctx, start, "send "+cmd, ioErr(ctx, err))
				return &r
			}
		}
		what := "greeting"
		if cmd != "" {
			what = strings.Fields(cmd)[0]
		}
		code, line, err := readSMTPReply(br)
		if err != nil {
			err = ioErr(ctx, err)
			r := errResult(ctx, start, what, err)
			if r.Reason == ReasonError {
				r.Reason = ReasonProtocol
				if errors.Is(err, io.EOF) {
					r.Reason = ReasonNoReply
				}
			}
			return &r
		}
		if code != want {
			r := failResult(start, ReasonStatus, "%s: reply %q, want %d", what, line, want)
			return &r
		}
		return nil
	}
	helo := c.opts.HeloName
	if helo == "" {
		helo, _ = os.Hostname()
		if helo == "" {
			helo = "localhost"
		}
	}
	if r := step("", 220); r != nil {
		return *r
	}
	if r := step("HELO "+helo, 250); r != nil {
		return *r
	}
	_, _ = io.WriteString(conn, "QUIT\r\n") // the reply does not matter
	return okResult(start)
}

// readSMTPReply reads a (possibly multi-line "250-...") reply.
func readSMTPReply(br *bufio.Reader) (int, string, error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, line, fmt.Errorf("malformed reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || line[0] < '0' || line[0] > '9' {
			return 0, line, fmt.Errorf("malformed reply %q", line)
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		return code, line, nil
	}
}
