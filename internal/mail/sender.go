package mail

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// Config is the mail setup of global_defs.
type Config struct {
	Server   string   // smtp_server as host:port
	HeloName string   // smtp_helo_name; "localhost" when empty (keepalived's helo_cmd)
	From     string   // notification_email_from
	To       []string // notification_email
	Timeout  time.Duration
	// Now is the Date: header's clock; nil means time.Now.
	Now func() time.Time
}

// QueueLen is how many alerts wait at most; more are dropped.
const QueueLen = 64

// Sender delivers alerts one at a time from its own goroutine.
type Sender struct {
	cfg   Config
	log   *slog.Logger
	q     chan Alert
	count Count
	wg    sync.WaitGroup
	stop  context.CancelFunc
	ctx   context.Context
}

// Results of lvs_ha_smtp_alerts_total.
const (
	ResultSent    = "sent"
	ResultFailed  = "failed"
	ResultDropped = "dropped"
)

// Count is told each alert's result (ResultSent, ResultFailed,
// ResultDropped); the daemon counts them in lvs_ha_smtp_alerts_total.
type Count func(result string)

// Start starts a sender; Close stops it.
func Start(cfg Config, log *slog.Logger, count Count) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if count == nil {
		count = func(string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{cfg: cfg, log: log, q: make(chan Alert, QueueLen), count: count, stop: cancel, ctx: ctx}
	s.wg.Add(1)
	go s.loop()
	return s
}

// Send queues a; it never blocks. A nil Sender sends nothing.
func (s *Sender) Send(a Alert) {
	if s == nil {
		return
	}
	select {
	case s.q <- a:
	default:
		s.count(ResultDropped)
		s.log.Warn("smtp alert dropped: queue full", "subject", a.Subject)
	}
}

// Close stops the sender, abandoning an alert in flight and the queue.
func (s *Sender) Close() {
	if s == nil {
		return
	}
	s.stop()
	s.wg.Wait()
}

func (s *Sender) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case a := <-s.q:
			if err := s.deliver(s.ctx, a); err != nil {
				if s.ctx.Err() != nil {
					return
				}
				s.count(ResultFailed)
				s.log.Warn("smtp alert not sent", "server", s.cfg.Server, "subject", a.Subject, "err", err)
				continue
			}
			s.count(ResultSent)
			s.log.Info("SMTP alert successfully sent.", "subject", a.Subject)
		}
	}
}

// Message is the DATA keepalived's body_cmd sends (dot-stuffed here).
func Message(cfg Config, a Alert, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\nFrom: %s\r\nSubject: %s\r\nX-Mailer: Keepalived\r\nTo: %s\r\n\r\n",
		now.Format("Mon, 02 Jan 2006 15:04:05 -0700"), cfg.From, a.Subject, strings.Join(cfg.To, ", "))
	for _, l := range strings.Split(strings.ReplaceAll(a.Body, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, ".") {
			l = "." + l
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n.\r\n")
	return b.String()
}

// deliver runs keepalived's SMTP dialogue; every step has cfg.Timeout.
func (s *Sender) deliver(ctx context.Context, a Alert) error {
	d := net.Dialer{Timeout: s.cfg.Timeout}
	c, err := d.DialContext(ctx, "tcp", s.cfg.Server)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(c)
	step := func(what, cmd string, want int) error {
		if err := c.SetDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
			return err
		}
		if cmd != "" {
			if _, err := c.Write([]byte(cmd)); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		code, err := readReply(r)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if code != want {
			return fmt.Errorf("%s: SMTP status code = %d", what, code)
		}
		return nil
	}
	if err := step("greeting", "", 220); err != nil {
		return err
	}
	if err := step("HELO", "HELO "+s.cfg.HeloName+"\r\n", 250); err != nil {
		return err
	}
	if err := step("MAIL", "MAIL FROM:<"+s.cfg.From+">\r\n", 250); err != nil {
		return err
	}
	for _, to := range s.cfg.To {
		if err := step("RCPT", "RCPT TO:<"+to+">\r\n", 250); err != nil {
			return err
		}
	}
	if err := step("DATA", "DATA\r\n", 354); err != nil {
		return err
	}
	if err := step("DOT", Message(s.cfg, a, s.cfg.Now()), 250); err != nil {
		return err
	}
	_ = step("QUIT", "QUIT\r\n", 221)
	return nil
}

// readReply reads one (possibly multi-line) SMTP reply and returns its code.
func readReply(r *bufio.Reader) (int, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if len(line) < 4 {
			return 0, fmt.Errorf("bad reply %q", line)
		}
		var code int
		if _, err := fmt.Sscanf(line[:3], "%d", &code); err != nil {
			return 0, fmt.Errorf("bad reply %q", line)
		}
		if line[3] != '-' {
			return code, nil
		}
	}
}
