package notifyfifo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/script"
)

// QueueLen is how many lines wait for a FIFO's writer goroutine before Send
// drops them. With the pipe's own buffer (64 KiB on Linux) that is several
// thousand events for a reader that stalls.
const QueueLen = 1024

// closeDrain bounds how long Close keeps writing the queued lines (a STOP
// line written at shutdown) to a reader that does not read.
const closeDrain = time.Second

// Config is one notify FIFO.
type Config struct {
	// Path is the FIFO; created if missing.
	Path string
	// User and Group own a FIFO that Open creates (keepalived's
	// "notify_fifo PATH [user [group]]"; empty: the daemon's user).
	User, Group string
	// Script, when set, is the _script reader: started once at Open with
	// Path appended to its Argv, never timed out, stopped at Close.
	Script *script.Spec
	// What names the FIFO in logs (e.g. "vrrp_notify_fifo").
	What string
}

// FIFO is an open notify FIFO and its reader script.
type FIFO struct {
	cfg     Config
	log     *slog.Logger
	f       *os.File
	created bool

	mu     sync.Mutex // guards closed and the send side of q
	closed bool
	q      chan string
	stop   chan struct{}
	done   chan struct{}

	dropped  atomic.Uint64
	dropping atomic.Bool // a drop was logged and no line was queued since

	scriptCancel context.CancelFunc
	scriptDone   chan struct{}
}

// Open creates cfg.Path if it does not exist, starts cfg.Script and opens the
// FIFO for writing. An existing file that is not a FIFO is an error.
func Open(cfg Config, log *slog.Logger) (*FIFO, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = withDefaults(cfg)
	fi := &FIFO{cfg: cfg, log: log.With("fifo", cfg.Path, "what", cfg.What),
		q: make(chan string, QueueLen), stop: make(chan struct{}), done: make(chan struct{})}
	switch err := unix.Mkfifo(cfg.Path, 0o644); {
	case err == nil:
		fi.created = true
		if err := fi.chown(); err != nil {
			fi.log.Warn("notify FIFO: cannot set its owner", "user", cfg.User, "group", cfg.Group, "err", err)
		}
	case errors.Is(err, unix.EEXIST):
	default:
		return nil, fmt.Errorf("%s: create %s: %w", cfg.What, cfg.Path, err)
	}
	// Read-write, as keepalived: the open does not wait for a reader and a
	// write never fails for want of one. Go polls the FIFO, so a full pipe
	// parks only the writer goroutine.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err == nil {
		if st, serr := f.Stat(); serr != nil || st.Mode().Type() != fs.ModeNamedPipe {
			f.Close()
			err = fmt.Errorf("not a FIFO")
		}
	}
	if err != nil {
		if fi.created {
			os.Remove(cfg.Path)
		}
		return nil, fmt.Errorf("%s: open %s: %w", cfg.What, cfg.Path, err)
	}
	fi.f = f
	go fi.write()
	if cfg.Script != nil {
		fi.startScript()
	}
	return fi, nil
}

// withDefaults is c as Open keeps it.
func withDefaults(c Config) Config {
	if c.What == "" {
		c.What = "notify_fifo"
	}
	return c
}

func (fi *FIFO) chown() error {
	if fi.cfg.User == "" {
		return nil
	}
	cred, err := script.LookupCredential(fi.cfg.User, fi.cfg.Group)
	if err != nil || cred == nil {
		return err
	}
	return os.Chown(fi.cfg.Path, int(cred.Uid), int(cred.Gid))
}

func (fi *FIFO) startScript() {
	spec := *fi.cfg.Script
	spec.Argv = append(slices.Clone(spec.Argv), fi.cfg.Path)
	spec.Timeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	fi.scriptCancel, fi.scriptDone = cancel, make(chan struct{})
	fi.log.Info("notify FIFO script starting", "argv", spec.Argv)
	go func() {
		defer close(fi.scriptDone)
		res := script.Run(ctx, spec)
		lvl := slog.LevelWarn
		if ctx.Err() != nil {
			lvl = slog.LevelDebug
		}
		fi.log.Log(context.Background(), lvl, "notify FIFO script exited", "argv", spec.Argv, "result", res.String())
	}()
}

// Path is the FIFO's path.
func (fi *FIFO) Path() string { return fi.cfg.Path }

// Send queues line (a whole line, newline included) for the writer. It never
// blocks: when the queue is full (the reader is too slow or gone) the line is
// dropped, counted and logged, and Send returns false.
func (fi *FIFO) Send(line string) bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if fi.closed {
		return false
	}
	select {
	case fi.q <- line:
		fi.dropping.Store(false)
		return true
	default:
	}
	n := fi.dropped.Add(1)
	if !fi.dropping.Swap(true) {
		fi.log.Warn("notify FIFO full: event dropped (is its reader running?)", "line", line[:len(line)-1], "dropped_total", n)
	}
	return false
}

// Dropped is the number of lines Send dropped.
func (fi *FIFO) Dropped() uint64 { return fi.dropped.Load() }

func (fi *FIFO) write() {
	defer close(fi.done)
	// put writes one line; false once Close's deadline has passed.
	put := func(line string) bool {
		_, err := fi.f.WriteString(line)
		if err == nil {
			return true
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			fi.log.Warn("notify FIFO closed with lines its reader did not take")
			return false
		}
		fi.log.Warn("notify FIFO write failed", "err", err)
		return true
	}
	for {
		select {
		case line := <-fi.q:
			if !put(line) {
				return
			}
		case <-fi.stop:
			for {
				select {
				case line := <-fi.q:
					if !put(line) {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// Close writes what is queued (for at most a second), closes and, if Open
// created it, removes the FIFO (first, as keepalived, so that a reader that
// reopens it in a loop does not find it), then gives the script a second to
// exit on end of file before terminating it.
func (fi *FIFO) Close() error {
	fi.mu.Lock()
	if fi.closed {
		fi.mu.Unlock()
		return nil
	}
	fi.closed = true
	fi.mu.Unlock()
	// Also unblocks a write waiting for a reader that does not read.
	_ = fi.f.SetWriteDeadline(time.Now().Add(closeDrain))
	close(fi.stop)
	<-fi.done
	if fi.created {
		os.Remove(fi.cfg.Path)
	}
	err := fi.f.Close()
	if fi.scriptCancel != nil {
		select {
		case <-fi.scriptDone:
		case <-time.After(script.StopNotifyTimeout):
		}
		fi.scriptCancel()
		<-fi.scriptDone
	}
	return err
}
