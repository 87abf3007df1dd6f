package ipvs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Netlink is the Kernel implementation over the IPVS generic-netlink family
// (github.com/mdlayher/netlink) in the network namespace it was opened in.
// It is safe for concurrent use (requests are serialised).
type Netlink struct {
	// ConnPath is the connection table file read by Connections
	// (default /proc/net/ip_vs_conn, i.e. the process's namespace; for a
	// handle from NewNetlinkAt set it to a path inside that namespace).
	ConnPath string

	mu     sync.Mutex // one exchange at a time: a batch's acks are read by its sender
	c      *netlink.Conn
	rx     receiver // reads the replies of do's requests; guarded by mu
	family uint16
}

var (
	_ Kernel         = (*Netlink)(nil)
	_ Batcher        = (*Netlink)(nil)
	_ settingsReader = (*Netlink)(nil)
)

const (
	genlVersion    = 1
	requestTimeout = 30 * time.Second
	// maxDumpTries bounds the retries of a dump the kernel marks
	// interrupted (NLM_F_DUMP_INTR: the table changed while it was read).
	maxDumpTries = 5
)

// ErrNoIPVS is returned by NewNetlink when the kernel has no IPVS family
// (ip_vs not loaded and not loadable).
var ErrNoIPVS = errors.New("ipvs: kernel has no IPVS generic netlink family (is ip_vs loaded?)")

// NewNetlink opens a generic netlink socket in the calling thread's network
// namespace and resolves the IPVS family. If the family is missing it runs
// `modprobe ip_vs` (as ipvsadm does), once per process: keepalived too tries
// once at start, and a caller retrying NewNetlink while the module stays
// missing only asks the kernel for the family again.
func NewNetlink() (*Netlink, error) {
	return dial(&netlink.Config{})
}

// NewNetlinkAt is NewNetlink for the network namespace at nsPath (e.g.
// /var/run/netns/lb1); the handle stays in that namespace. The socket is
// created on a separate, locked OS thread (netlink.Config.NetNS): the
// calling goroutine never changes namespace.
func NewNetlinkAt(nsPath string) (*Netlink, error) {
	f, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open netns %s: %w", nsPath, err)
	}
	defer f.Close()
	n, err := dial(&netlink.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, fmt.Errorf("ipvs: netns %s: %w", nsPath, err)
	}
	return n, nil
}

func dial(cfg *netlink.Config) (*Netlink, error) {
	c, err := netlink.Dial(unix.NETLINK_GENERIC, cfg)
	if err != nil {
		return nil, fmt.Errorf("ipvs: netlink socket: %w", err)
	}
	_ = c.SetOption(netlink.ExtendedAcknowledge, true) // best effort: kernels before 4.12 lack it
	_ = c.SetReadBuffer(1 << 20)
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	fam, err := resolveFamily(func() (genetlink.Family, error) { return genetlink.NewConn(c).GetFamily("IPVS") }, ipvsModule)
	if err != nil {
		c.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNoIPVS
		}
		return nil, fmt.Errorf("ipvs: resolve IPVS family: %w", err)
	}
	return &Netlink{c: c, rx: newReceiver(c), family: fam.ID, ConnPath: "/proc/net/ip_vs_conn"}, nil
}

// moduleLoader runs a module load at most once per process.
type moduleLoader struct {
	once sync.Once
	run  func() error
}

// ipvsModule loads ip_vs for every NewNetlink of the process.
var ipvsModule = &moduleLoader{run: func() error { return exec.Command("modprobe", "-q", "ip_vs").Run() }}

// load runs the loader if it never ran and reports whether it ran now.
func (m *moduleLoader) load() bool {
	ran := false
	m.once.Do(func() {
		_ = m.run()
		ran = true
	})
	return ran
}

// resolveFamily is get, again after loading the module the first time the
// family is missing (ENOENT).
func resolveFamily(get func() (genetlink.Family, error), m *moduleLoader) (genetlink.Family, error) {
	fam, err := get()
	if errors.Is(err, unix.ENOENT) && m.load() {
		fam, err = get()
	}
	return fam, err
}

// Close closes the socket.
func (n *Netlink) Close() error { return n.c.Close() }

// OpError is the error of a failed IPVS netlink command. Err is the errno
// (unix.EEXIST, unix.ESRCH for a missing service, unix.ENOENT for a missing
// destination or scheduler, ...).
type OpError struct {
	Op      string // e.g. "NEW_SERVICE"
	Object  string // service or destination it was about, may be empty
	Err     error
	Message string // the kernel's extended-ACK message, if it sent one
}

func (e *OpError) Error() string {
	s := "ipvs: " + e.Op
	if e.Object != "" {
		s += " " + e.Object
	}
	s += ": " + e.Err.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *OpError) Unwrap() error { return e.Err }

// request kinds: a command the kernel acknowledges, one that answers with
// one reply, and a dump.
const (
	set  = netlink.Request | netlink.Acknowledge
	get  = netlink.Request
	dump = netlink.Request | netlink.Dump
)

// message builds the request for command cmd with the attributes attrs
// adds (attrs may be nil).
func (n *Netlink) message(cmd uint8, flags netlink.HeaderFlags, attrs func(*netlink.AttributeEncoder)) (netlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if attrs != nil {
		attrs(ae)
	}
	b, err := ae.Encode()
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(n.family), Flags: flags},
		Data:   append([]byte{cmd, genlVersion, 0, 0}, b...),
	}, err
}

// do is doLocked for a command whose replies the caller ignores (they may
// be overwritten as soon as do returns).
func (n *Netlink) do(cmd uint8, flags netlink.HeaderFlags, obj string, attrs func(*netlink.AttributeEncoder)) ([][]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.doLocked(cmd, flags, obj, attrs)
}

// doLocked sends command cmd with the attributes attrs adds (attrs may be
// nil) and returns the payloads (after the genl header) of the replies,
// which alias n.rx's buffer: the caller holds n.mu until it has decoded
// them. obj names the service or destination in errors. A dump the kernel
// marks interrupted is retried.
func (n *Netlink) doLocked(cmd uint8, flags netlink.HeaderFlags, obj string, attrs func(*netlink.AttributeEncoder)) ([][]byte, error) {
	req, err := n.message(cmd, flags, attrs)
	if err != nil {
		return nil, &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
	}
	for try := 1; ; try++ {
		_ = n.c.SetDeadline(time.Now().Add(requestTimeout))
		msgs, err := n.exchange(req)
		if err != nil {
			return nil, newOpError(cmd, obj, err)
		}
		out, intr := payloads(msgs)
		if !intr {
			return out, nil
		}
		if try == maxDumpTries {
			return nil, &OpError{Op: cmdNames[cmd], Object: obj,
				Err: fmt.Errorf("dump interrupted %d times by concurrent changes: %w", try, unix.EINTR)}
		}
	}
}

// query sends command cmd (as doLocked) and returns what decode makes of
// the replies, holding n.mu until decode returns: the replies alias n.rx's
// buffer, which the next request overwrites.
func query[T any](n *Netlink, cmd uint8, flags netlink.HeaderFlags, obj string, attrs func(*netlink.AttributeEncoder), decode func([][]byte) (T, error)) (T, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	msgs, err := n.doLocked(cmd, flags, obj, attrs)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(msgs)
}

// exchange sends req and returns its replies (netlink.Conn.Execute without
// its sequence check), which alias n.rx's buffer until the next exchange.
// The replies of an earlier request that timed out
// arrive late, ahead of req's: they are skipped, where Execute would fail
// req, and every request after it, with a mismatched sequence number.
func (n *Netlink) exchange(req netlink.Message) ([]netlink.Message, error) {
	sent, err := n.c.Send(req)
	if err != nil {
		return nil, err
	}
	seq := sent.Header.Sequence
	for {
		msgs, err := n.rx.receive(n.c)
		var nerr *netlink.OpError
		if errors.As(err, &nerr) && nerr.Sequence != 0 && nerr.Sequence != seq {
			continue // the error of an earlier request
		}
		if err != nil {
			return nil, err
		}
		mine := msgs[:0]
		for _, m := range msgs {
			if m.Header.Sequence == seq {
				mine = append(mine, m)
			}
		}
		if len(mine) > 0 || len(msgs) == 0 {
			return mine, nil
		}
	}
}

// opCmds maps an OpKind to its IPVS command.
var opCmds = [...]uint8{OpAddService: cmdNewService, OpUpdateService: cmdSetService, OpDelService: cmdDelService,
	OpAddDest: cmdNewDest, OpUpdateDest: cmdSetDest, OpDelDest: cmdDelDest}

// command returns the IPVS command of op and its attributes; ok is false
// for an unknown kind.
func command(op *Op) (cmd uint8, attrs func(*netlink.AttributeEncoder), ok bool) {
	if int(op.Kind) >= len(opCmds) || opCmds[op.Kind] == 0 {
		return 0, nil, false
	}
	switch op.Kind {
	case OpAddService, OpUpdateService, OpDelService:
		return opCmds[op.Kind], func(ae *netlink.AttributeEncoder) { encodeService(ae, &op.Service, op.Kind != OpDelService) }, true
	}
	return opCmds[op.Kind], func(ae *netlink.AttributeEncoder) {
		encodeService(ae, &Service{Key: op.Service.Key}, false)
		encodeDest(ae, &op.Dest, op.Kind != OpDelDest)
	}, true
}

// opError is the OpError of op failing with err.
func opError(op *Op, err error) error {
	obj := op.Service.Key.String()
	switch op.Kind {
	case OpAddDest, OpUpdateDest, OpDelDest:
		obj += " -> " + op.Dest.AddrPort().String()
	}
	return newOpError(opCmds[op.Kind], obj, err)
}

// apply performs one op.
func (n *Netlink) apply(op Op) error { return n.ApplyOps([]Op{op})[0] }

// ApplyOps applies ops in order, going on after a failed one, and returns
// the error of each (nil if it succeeded): what ApplyOp on each would
// return, with one sendmsg per batchSize ops instead of a round trip each.
// The kernel handles the requests of one sendmsg in order before sendmsg
// returns, and acknowledges a failed request with an error carrying its
// sequence number even without NLM_F_ACK; so only the last request of a
// batch asks for an ACK, which tells the batch is done.
func (n *Netlink) ApplyOps(ops []Op) []error {
	errs := make([]error, len(ops))
	for i := 0; i < len(ops); i += batchSize {
		end := min(i+batchSize, len(ops))
		n.applyBatch(ops[i:end], errs[i:end])
	}
	return errs
}

func (n *Netlink) applyBatch(ops []Op, errs []error) {
	msgs := make([]netlink.Message, 0, len(ops))
	sentOps := make([]int, 0, len(ops)) // index in ops of each message
	for i := range ops {
		cmd, attrs, ok := command(&ops[i])
		if !ok {
			errs[i] = fmt.Errorf("ipvs: unknown op kind %d", ops[i].Kind)
			continue
		}
		m, err := n.message(cmd, netlink.Request, attrs)
		if err != nil {
			errs[i] = opError(&ops[i], err)
			continue
		}
		msgs, sentOps = append(msgs, m), append(sentOps, i)
	}
	if len(msgs) == 0 {
		return
	}
	msgs[len(msgs)-1].Header.Flags |= netlink.Acknowledge
	n.mu.Lock()
	defer n.mu.Unlock()
	_ = n.c.SetDeadline(time.Now().Add(requestTimeout))
	sent, err := n.c.SendMessages(msgs)
	if err != nil {
		failAll(ops, sentOps, errs, err)
		return
	}
	first, last := sent[0].Header.Sequence, sent[len(sent)-1].Header.Sequence
	for {
		replies, err := n.c.Receive()
		var nerr *netlink.OpError
		if errors.As(err, &nerr) && nerr.Sequence != 0 {
			if j := nerr.Sequence - first; j < uint32(len(sentOps)) { // else a stale reply
				errs[sentOps[j]] = opError(&ops[sentOps[j]], err)
			}
			if nerr.Sequence == last {
				return
			}
			continue
		}
		if err != nil { // the outcome of the requests not reported yet is unknown
			failAll(ops, sentOps, errs, err)
			return
		}
		for _, m := range replies {
			if m.Header.Type == netlink.Error && m.Header.Sequence == last {
				return
			}
		}
	}
}

// failAll sets err as the error of every sent op without one.
func failAll(ops []Op, sent []int, errs []error, err error) {
	for _, i := range sent {
		if errs[i] == nil {
			errs[i] = opError(&ops[i], err)
		}
	}
}

// payloads returns the generic netlink payloads of the data messages in
// msgs, and whether any is marked NLM_F_DUMP_INTR.
func payloads(msgs []netlink.Message) ([][]byte, bool) {
	out := make([][]byte, 0, len(msgs))
	intr := false
	for _, m := range msgs {
		intr = intr || m.Header.Flags&netlink.DumpInterrupted != 0
		if m.Header.Type != netlink.Error && m.Header.Type != netlink.Done && len(m.Data) >= 4 {
			out = append(out, m.Data[4:])
		}
	}
	return out, intr
}

// newOpError converts a netlink error into an OpError carrying the errno and
// the kernel's extended-ACK message.
func newOpError(cmd uint8, obj string, err error) *OpError {
	e := &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
	var nerr *netlink.OpError
	if errors.As(err, &nerr) {
		e.Err, e.Message = nerr.Err, nerr.Message
	}
	return e
}

// decodeReplies decodes every reply with dec, wrapping errors as cmd's.
func decodeReplies[T any](cmd uint8, obj string, msgs [][]byte, dec func([]byte) (T, error)) ([]T, error) {
	out := make([]T, 0, len(msgs))
	for _, m := range msgs {
		v, err := dec(m)
		if err != nil {
			return nil, &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}

// Info returns the IPVS version and connection table size.
func (n *Netlink) Info() (Info, error) {
	return query(n, cmdGetInfo, get, "", nil, func(msgs [][]byte) (Info, error) {
		var info Info
		err := eachAttr(msgs, "GET_INFO", func(ad *attrDecoder) {
			switch ad.Type() {
			case infoAttrVersion:
				info.Version = ad.Uint32()
			case infoAttrConnTabSize:
				info.ConnTableSize = ad.Uint32()
			}
		})
		return info, err
	})
}

// eachAttr calls f at each attribute of every message of a GET reply, in
// order; a malformed message ends the walk with op's error.
func eachAttr(msgs [][]byte, op string, f func(ad *attrDecoder)) error {
	for _, m := range msgs {
		ad := newAttrDecoder(m)
		for ad.Next() {
			f(&ad)
		}
		if err := ad.Err(); err != nil {
			return &OpError{Op: op, Err: err}
		}
	}
	return nil
}

// Table dumps every service and then the destinations of each, in the
// kernel's order (hash-table order for services, list order for
// destinations); Table.Sort gives a stable one.
func (n *Netlink) Table() (Table, error) { return n.table(true) }

// settings is Table without the stats, for Reconcile (settingsReader):
// decoding the stats is over a third of the time to read a table.
func (n *Netlink) settings() (Table, error) { return n.table(false) }

// table holds n.mu for one dump at a time (the services, then the
// destinations of each), as before: other requests go on between them.
func (n *Netlink) table(stats bool) (Table, error) {
	svcs, err := n.services(stats)
	if err != nil {
		return Table{}, err
	}
	for i := range svcs {
		s := &svcs[i]
		ds, err := n.destinations(s, stats)
		if errors.Is(err, unix.ESRCH) {
			continue // deleted meanwhile
		}
		if err != nil {
			return Table{}, err
		}
		s.Destinations = ds
	}
	return Table{Services: svcs}, nil
}

func (n *Netlink) services(stats bool) ([]Service, error) {
	return query(n, cmdGetService, dump, "", nil, func(msgs [][]byte) ([]Service, error) {
		return decodeReplies(cmdGetService, "", msgs, func(m []byte) (Service, error) {
			return decodeNested(m, cmdAttrService, "service", func(b []byte) (Service, error) {
				return decodeService(b, stats)
			})
		})
	})
}

func (n *Netlink) destinations(s *Service, stats bool) ([]Destination, error) {
	obj := s.Key.String()
	return query(n, cmdGetDest, dump, obj, func(ae *netlink.AttributeEncoder) { encodeService(ae, s, false) }, func(msgs [][]byte) ([]Destination, error) {
		return decodeReplies(cmdGetDest, obj, msgs, func(m []byte) (Destination, error) {
			return decodeNested(m, cmdAttrDest, "destination", func(b []byte) (Destination, error) {
				return decodeDest(b, s.Key.Family, stats)
			})
		})
	})
}

// NewService adds s without its destinations.
func (n *Netlink) NewService(s Service) error { return n.apply(Op{Kind: OpAddService, Service: s}) }

// UpdateService changes the settings of s.Key.
func (n *Netlink) UpdateService(s Service) error {
	return n.apply(Op{Kind: OpUpdateService, Service: s})
}

// DelService deletes service k and its destinations.
func (n *Netlink) DelService(k ServiceKey) error {
	return n.apply(Op{Kind: OpDelService, Service: Service{Key: k}})
}

// Flush deletes every service.
func (n *Netlink) Flush() error {
	_, err := n.do(cmdFlush, set, "", nil)
	return err
}

// NewDestination adds d to service k.
func (n *Netlink) NewDestination(k ServiceKey, d Destination) error {
	return n.apply(Op{Kind: OpAddDest, Service: Service{Key: k}, Dest: d})
}

// UpdateDestination changes the settings of destination d of service k.
func (n *Netlink) UpdateDestination(k ServiceKey, d Destination) error {
	return n.apply(Op{Kind: OpUpdateDest, Service: Service{Key: k}, Dest: d})
}

// DelDestination deletes destination d.Addr:d.Port of service k.
func (n *Netlink) DelDestination(k ServiceKey, d Destination) error {
	return n.apply(Op{Kind: OpDelDest, Service: Service{Key: k}, Dest: d})
}

// Zero resets the counters of service k.
func (n *Netlink) Zero(k ServiceKey) error {
	_, err := n.do(cmdZero, set, k.String(), func(ae *netlink.AttributeEncoder) {
		encodeService(ae, &Service{Key: k}, false)
	})
	return err
}

// ZeroAll resets the counters of every service.
func (n *Netlink) ZeroAll() error {
	_, err := n.do(cmdZero, set, "", nil)
	return err
}

// Timeouts returns the tcp, tcpfin and udp timeouts.
func (n *Netlink) Timeouts() (Timeouts, error) {
	return query(n, cmdGetConfig, get, "", nil, func(msgs [][]byte) (Timeouts, error) {
		var t Timeouts
		err := eachAttr(msgs, "GET_CONFIG", func(ad *attrDecoder) {
			switch ad.Type() {
			case cmdAttrTimeoutTCP:
				t.TCP = time.Duration(ad.Uint32()) * time.Second
			case cmdAttrTimeoutTCPFin:
				t.TCPFin = time.Duration(ad.Uint32()) * time.Second
			case cmdAttrTimeoutUDP:
				t.UDP = time.Duration(ad.Uint32()) * time.Second
			}
		})
		return t, err
	})
}

// SetTimeouts sets the non-zero timeouts of t (rounded down to seconds).
func (n *Netlink) SetTimeouts(t Timeouts) error {
	// Indexed by attribute type; the zero entries below are never sent.
	ds := []time.Duration{cmdAttrTimeoutTCP: t.TCP, cmdAttrTimeoutTCPFin: t.TCPFin, cmdAttrTimeoutUDP: t.UDP}
	for _, d := range ds {
		if d < 0 || d/time.Second > 1<<31 {
			return &OpError{Op: "SET_CONFIG", Err: fmt.Errorf("timeout %v out of range", d)}
		}
	}
	_, err := n.do(cmdSetConfig, set, "", func(ae *netlink.AttributeEncoder) {
		for typ, d := range ds {
			if d > 0 {
				ae.Uint32(uint16(typ), uint32(d/time.Second))
			}
		}
	})
	return err
}

// Connections reads the connection table from ConnPath.
func (n *Netlink) Connections() ([]Connection, error) {
	f, err := os.Open(n.ConnPath)
	if err != nil {
		return nil, fmt.Errorf("ipvs: connections: %w", err)
	}
	defer f.Close()
	return ParseConnections(f)
}

// Sync daemon errors: an *OpError of StartSyncDaemon or StopSyncDaemon
// matches them with errors.Is (as it matches its errno, unix.EEXIST or
// unix.ESRCH).
var (
	// ErrSyncDaemonRunning: StartSyncDaemon found a daemon of that role
	// running (EEXIST; ipvsadm's "Daemon has already run").
	ErrSyncDaemonRunning = errors.New("ipvs: sync daemon already running")
	// ErrSyncDaemonNotRunning: StopSyncDaemon found no daemon of that role
	// (ESRCH; ipvsadm's "No daemon is running").
	ErrSyncDaemonNotRunning = errors.New("ipvs: no sync daemon running")
)

// Is reports whether e is ErrSyncDaemonRunning or ErrSyncDaemonNotRunning.
func (e *OpError) Is(target error) bool {
	switch target {
	case ErrSyncDaemonRunning:
		return e.Op == cmdNames[cmdNewDaemon] && errors.Is(e.Err, unix.EEXIST)
	case ErrSyncDaemonNotRunning:
		return e.Op == cmdNames[cmdDelDaemon] && errors.Is(e.Err, unix.ESRCH)
	}
	return false
}

// SyncDaemons lists the running connection synchronisation daemons, master
// first, with the values the kernel chose for the options left zero.
func (n *Netlink) SyncDaemons() ([]SyncDaemon, error) {
	return query(n, cmdGetDaemon, dump, "", nil, func(msgs [][]byte) ([]SyncDaemon, error) {
		return decodeReplies(cmdGetDaemon, "", msgs, func(m []byte) (SyncDaemon, error) {
			return decodeNested(m, cmdAttrDaemon, "daemon", decodeDaemon)
		})
	})
}

// StartSyncDaemon starts a master or backup sync daemon: kernel threads
// ipvs-m:GEN:ID or ipvs-b:GEN:ID, one per net.ipv4.vs.sync_ports. Both roles
// may run at once. The kernel cannot change a running daemon's options: stop
// it and start it again. It fails with ErrSyncDaemonRunning if the role has a
// daemon, with unix.ENODEV if d.Interface does not exist, with
// unix.ENETUNREACH (master) if the interface has no route to the group
// (e.g. it is down), and with unix.EINVAL for a group that is not
// multicast, or while a service has destinations of the other address
// family (the sync protocol cannot carry them; the error's Message then
// names the service).
func (n *Netlink) StartSyncDaemon(d SyncDaemon) error {
	return n.doDaemon(cmdNewDaemon, &d, true)
}

// StopSyncDaemon stops the master or backup sync daemon; it fails with
// ErrSyncDaemonNotRunning if none runs.
//
// The kernel stops the threads with kthread_stop, which returns EINTR for
// a thread stopped before it first ran (a stop soon after a start: often
// under TCG, possible on a loaded machine); the daemon is gone then as
// after any stop, but DEL_DAEMON fails with EINTR, and netlink_rcv_skb
// sends no reply at all for EINTR (the code dumps use to suppress the
// ACK). A client waiting for the reply waits for ever: the 30 s timeouts
// seen in the VM. StopSyncDaemon does not wait: see doDaemon.
func (n *Netlink) StopSyncDaemon(s SyncState) error {
	return n.doDaemon(cmdDelDaemon, &SyncDaemon{State: s}, false)
}

// doDaemon sends NEW_DAEMON or DEL_DAEMON for d, then a GET_INFO on the
// same socket as a fence. The kernel handles a generic netlink request
// within sendmsg, so when the fence's reply arrives the command's reply,
// if any, came before it. None came when the command returned EINTR: then
// the daemons are listed, and the command succeeded if the role is in the
// state it asked for (stopped, or started). Late replies of an earlier
// request that timed out are skipped.
func (n *Netlink) doDaemon(cmd uint8, d *SyncDaemon, full bool) error {
	obj := d.State.String()
	req, err := n.message(cmd, set, func(ae *netlink.AttributeEncoder) { encodeDaemon(ae, d, full) })
	if err != nil {
		return &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
	}
	fence, err := n.message(cmdGetInfo, get, nil)
	if err != nil {
		return &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
	}
	replied, err := n.fenced(req, fence)
	if replied {
		if err == nil {
			return nil
		}
		e := newOpError(cmd, obj, err)
		if cmd == cmdNewDaemon && errors.Is(err, unix.EINVAL) && e.Message == "" {
			e.Message = n.mixedFamily()
		}
		return e
	}
	if err != nil {
		return newOpError(cmd, obj, err)
	}
	ds, err := n.SyncDaemons()
	if err != nil {
		return &OpError{Op: cmdNames[cmd], Object: obj, Err: fmt.Errorf("no reply (EINTR), and listing the daemons failed: %w", err)}
	}
	running := slices.ContainsFunc(ds, func(x SyncDaemon) bool { return x.State == d.State })
	if running == (cmd == cmdNewDaemon) {
		return nil
	}
	return &OpError{Op: cmdNames[cmd], Object: obj, Err: unix.EINTR}
}

// mixedFamily names a service with a destination of the other address
// family, the reason the kernel refuses a sync daemon with a bare EINVAL
// ("" if there is none, or the table cannot be read).
func (n *Netlink) mixedFamily() string {
	t, err := n.settings()
	if err != nil {
		return ""
	}
	for _, s := range t.Services {
		for _, d := range s.Destinations {
			if d.Family() != s.Key.Family {
				return fmt.Sprintf("service %s has destination %s of another address family, which the sync protocol cannot carry", s.Key, d.Addr)
			}
		}
	}
	return ""
}

// fenced sends req (asking for an ACK) and then fence (a request with one
// reply), and reads until fence's reply. It returns whether req got its
// reply, and req's error, or the socket's.
func (n *Netlink) fenced(req, fence netlink.Message) (replied bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	_ = n.c.SetDeadline(time.Now().Add(requestTimeout))
	sent, err := n.c.Send(req)
	if err != nil {
		return false, err
	}
	sentFence, err := n.c.Send(fence)
	if err != nil { // req's outcome is unknown; its reply is skipped later
		return false, err
	}
	seq, fseq := sent.Header.Sequence, sentFence.Header.Sequence
	var reqErr error
	for {
		msgs, err := n.c.Receive()
		var nerr *netlink.OpError
		if errors.As(err, &nerr) && nerr.Sequence != 0 {
			switch nerr.Sequence {
			case seq:
				replied, reqErr = true, err
			case fseq:
				return replied, reqErr
			}
			continue // a late reply to an earlier request
		}
		if err != nil {
			return replied, err
		}
		for _, m := range msgs {
			switch m.Header.Sequence {
			case seq:
				replied = true
			case fseq:
				return replied, reqErr
			}
		}
	}
}
