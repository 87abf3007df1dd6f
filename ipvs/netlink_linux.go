package ipvs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netlink is the Kernel implementation over the IPVS generic-netlink family
// in the network namespace of the calling thread at NewNetlink time. It is
// safe for concurrent use (calls are serialised).
type Netlink struct {
	// ConnPath is the connection table file read by Connections
	// (default /proc/net/ip_vs_conn, i.e. the process's namespace; for a
	// handle from NewNetlinkAt set it to a path inside that namespace).
	ConnPath string

	mu     sync.Mutex
	fd     int
	family uint16
	pid    uint32
	seq    uint32
	rbuf   []byte
}

var _ Kernel = (*Netlink)(nil)

const (
	nlmsgHdrLen  = 16
	genlHdrLen   = 4
	genlCtrlID   = 0x10
	genlVersion  = 1
	ctrlGetFam   = 3
	ctrlAttrID   = 1
	ctrlAttrName = 2
)

// ErrNoIPVS is returned by NewNetlink when the kernel has no IPVS family
// (ip_vs not loaded and not loadable).
var ErrNoIPVS = errors.New("ipvs: kernel has no IPVS generic netlink family (is ip_vs loaded?)")

// NewNetlink opens a generic netlink socket and resolves the IPVS family,
// running `modprobe ip_vs` once if the family is missing (as ipvsadm does).
func NewNetlink() (*Netlink, error) {
	return newNetlink(-1)
}

// NewNetlinkAt is NewNetlink for the network namespace at nsPath (e.g.
// /var/run/netns/lb1); the handle stays in that namespace.
func NewNetlinkAt(nsPath string) (*Netlink, error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("ipvs: current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return nil, fmt.Errorf("ipvs: enter netns %s: %w", nsPath, err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if rerr := netns.Set(orig); rerr != nil {
		if err == nil {
			unix.Close(fd)
		}
		// The thread is in the wrong namespace: keep it locked so it dies.
		runtime.LockOSThread()
		return nil, fmt.Errorf("ipvs: return from netns %s: %w", nsPath, rerr)
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: netlink socket in %s: %w", nsPath, err)
	}
	return newNetlink(fd)
}

// newNetlink sets up fd (or a new socket in the current namespace if fd < 0).
func newNetlink(fd int) (*Netlink, error) {
	if fd >= 0 {
		return setupNetlink(fd)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("ipvs: netlink socket: %w", err)
	}
	return setupNetlink(fd)
}

func setupNetlink(fd int) (*Netlink, error) {
	n := &Netlink{fd: fd, rbuf: make([]byte, 1<<17), ConnPath: "/proc/net/ip_vs_conn"}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		n.Close()
		return nil, fmt.Errorf("ipvs: netlink bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("ipvs: netlink getsockname: %w", err)
	}
	n.pid = sa.(*unix.SockaddrNetlink).Pid
	tv := unix.NsecToTimeval(int64(30 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)

	fam, err := n.resolveFamily()
	if errors.Is(err, unix.ENOENT) {
		_ = exec.Command("modprobe", "-q", "ip_vs").Run()
		fam, err = n.resolveFamily()
	}
	if err != nil {
		n.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNoIPVS
		}
		return nil, fmt.Errorf("ipvs: resolve IPVS family: %w", err)
	}
	n.family = fam
	return n, nil
}

// Close closes the socket.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

func (n *Netlink) resolveFamily() (uint16, error) {
	var w attrWriter
	w.str(ctrlAttrName, "IPVS")
	msgs, err := n.request(genlCtrlID, ctrlGetFam, 0, w.b)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if v, ok, _ := findAttr(m, ctrlAttrID); ok {
			return attrU16(v), nil
		}
	}
	return 0, unix.ENOENT
}

// request sends one generic netlink request and returns the payloads
// (after the genl header) of the replies. dump adds NLM_F_DUMP.
func (n *Netlink) request(family uint16, cmd uint8, flags uint16, attrs []byte) ([][]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd < 0 {
		return nil, errors.New("ipvs: netlink handle closed")
	}
	n.seq++
	seq := n.seq
	total := nlmsgHdrLen + genlHdrLen + len(attrs)
	msg := make([]byte, 0, total)
	msg = ne.AppendUint32(msg, uint32(total))
	msg = ne.AppendUint16(msg, family)
	msg = ne.AppendUint16(msg, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	msg = ne.AppendUint32(msg, seq)
	msg = ne.AppendUint32(msg, n.pid)
	msg = append(msg, cmd, genlVersion, 0, 0)
	msg = append(msg, attrs...)
	if err := unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		nr, _, err := unix.Recvfrom(n.fd, n.rbuf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, err
		}
		done, err := parseReplies(n.rbuf[:nr], seq, func(p []byte) {
			out = append(out, append([]byte(nil), p...))
		})
		if err != nil || done {
			return out, err
		}
	}
}

// parseReplies walks the netlink messages in b belonging to seq, handing
// each data payload (after the genl header) to f. It reports whether the
// request is complete (ACK, error or NLMSG_DONE).
func parseReplies(b []byte, seq uint32, f func([]byte)) (bool, error) {
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b))
		typ := ne.Uint16(b[4:])
		flags := ne.Uint16(b[6:])
		mseq := ne.Uint32(b[8:])
		if l < nlmsgHdrLen || l > len(b) {
			return true, fmt.Errorf("ipvs: bad netlink message length %d", l)
		}
		body := b[nlmsgHdrLen:l]
		b = b[min(align4(l), len(b)):]
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			return true, nil
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return true, errors.New("ipvs: short netlink error message")
			}
			if e := int32(ne.Uint32(body)); e != 0 {
				return true, unix.Errno(-e)
			}
			return true, nil
		}
		if len(body) >= genlHdrLen {
			f(body[genlHdrLen:])
		}
		_ = flags
	}
	return false, nil
}

// OpError is the error of a failed IPVS netlink command. Err is the errno
// (unix.EEXIST, unix.ESRCH for a missing service, unix.ENOENT for a missing
// destination or scheduler, ...).
type OpError struct {
	Op     string // e.g. "NEW_SERVICE"
	Object string // service or destination it was about, may be empty
	Err    error
}

func (e *OpError) Error() string {
	if e.Object == "" {
		return "ipvs: " + e.Op + ": " + e.Err.Error()
	}
	return "ipvs: " + e.Op + " " + e.Object + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

func (n *Netlink) do(cmd uint8, flags uint16, obj string, attrs []byte) ([][]byte, error) {
	msgs, err := n.request(n.family, cmd, flags, attrs)
	if err != nil {
		return nil, &OpError{Op: cmdNames[cmd], Object: obj, Err: err}
	}
	return msgs, nil
}

// Info returns the IPVS version and connection table size.
func (n *Netlink) Info() (Info, error) {
	msgs, err := n.do(cmdGetInfo, 0, "", nil)
	if err != nil {
		return Info{}, err
	}
	var info Info
	for _, m := range msgs {
		attrs, err := parseAttrs(m)
		if err != nil {
			return info, &OpError{Op: "GET_INFO", Err: err}
		}
		for _, a := range attrs {
			switch a.typ {
			case infoAttrVersion:
				info.Version = attrU32(a.val)
			case infoAttrConnTabSize:
				info.ConnTableSize = attrU32(a.val)
			}
		}
	}
	return info, nil
}

// Table dumps every service and then the destinations of each.
func (n *Netlink) Table() (Table, error) {
	var w attrWriter
	msgs, err := n.do(cmdGetService, unix.NLM_F_DUMP, "", w.b)
	if err != nil {
		return Table{}, err
	}
	t := Table{Services: make([]Service, 0, len(msgs))}
	for _, m := range msgs {
		v, ok, err := findAttr(m, cmdAttrService)
		if err != nil || !ok {
			return Table{}, &OpError{Op: "GET_SERVICE", Err: fmt.Errorf("reply without service: %v", err)}
		}
		s, err := decodeService(v)
		if err != nil {
			return Table{}, &OpError{Op: "GET_SERVICE", Err: err}
		}
		t.Services = append(t.Services, s)
	}
	for i := range t.Services {
		s := &t.Services[i]
		ds, err := n.destinations(s)
		if errors.Is(err, unix.ESRCH) {
			continue // deleted meanwhile
		}
		if err != nil {
			return Table{}, err
		}
		s.Destinations = ds
	}
	t.Sort()
	return t, nil
}

func (n *Netlink) destinations(s *Service) ([]Destination, error) {
	var w attrWriter
	encodeService(&w, s, false)
	msgs, err := n.do(cmdGetDest, unix.NLM_F_DUMP, s.Key.String(), w.b)
	if err != nil {
		return nil, err
	}
	out := make([]Destination, 0, len(msgs))
	for _, m := range msgs {
		v, ok, err := findAttr(m, cmdAttrDest)
		if err != nil || !ok {
			return nil, &OpError{Op: "GET_DEST", Object: s.Key.String(), Err: fmt.Errorf("reply without destination: %v", err)}
		}
		d, err := decodeDest(v, s.Key.Family)
		if err != nil {
			return nil, &OpError{Op: "GET_DEST", Object: s.Key.String(), Err: err}
		}
		out = append(out, d)
	}
	return out, nil
}

func (n *Netlink) svcCmd(cmd uint8, s *Service, full bool) error {
	var w attrWriter
	encodeService(&w, s, full)
	_, err := n.do(cmd, 0, s.Key.String(), w.b)
	return err
}

// NewService adds s without its destinations.
func (n *Netlink) NewService(s Service) error { return n.svcCmd(cmdNewService, &s, true) }

// UpdateService changes the settings of s.Key.
func (n *Netlink) UpdateService(s Service) error { return n.svcCmd(cmdSetService, &s, true) }

// DelService deletes service k and its destinations.
func (n *Netlink) DelService(k ServiceKey) error {
	return n.svcCmd(cmdDelService, &Service{Key: k}, false)
}

// Flush deletes every service.
func (n *Netlink) Flush() error {
	_, err := n.do(cmdFlush, 0, "", nil)
	return err
}

func (n *Netlink) destCmd(cmd uint8, k ServiceKey, d *Destination, full bool) error {
	var w attrWriter
	encodeService(&w, &Service{Key: k}, false)
	encodeDest(&w, d, full)
	_, err := n.do(cmd, 0, k.String()+" -> "+d.AddrPort().String(), w.b)
	return err
}

// NewDestination adds d to service k.
func (n *Netlink) NewDestination(k ServiceKey, d Destination) error {
	return n.destCmd(cmdNewDest, k, &d, true)
}

// UpdateDestination changes the settings of destination d of service k.
func (n *Netlink) UpdateDestination(k ServiceKey, d Destination) error {
	return n.destCmd(cmdSetDest, k, &d, true)
}

// DelDestination deletes destination d.Addr:d.Port of service k.
func (n *Netlink) DelDestination(k ServiceKey, d Destination) error {
	return n.destCmd(cmdDelDest, k, &d, false)
}

// Zero resets the counters of service k.
func (n *Netlink) Zero(k ServiceKey) error {
	return n.svcCmd(cmdZero, &Service{Key: k}, false)
}

// ZeroAll resets the counters of every service.
func (n *Netlink) ZeroAll() error {
	_, err := n.do(cmdZero, 0, "", nil)
	return err
}

// Timeouts returns the tcp, tcpfin and udp timeouts.
func (n *Netlink) Timeouts() (Timeouts, error) {
	msgs, err := n.do(cmdGetConfig, 0, "", nil)
	if err != nil {
		return Timeouts{}, err
	}
	var t Timeouts
	for _, m := range msgs {
		attrs, err := parseAttrs(m)
		if err != nil {
			return t, &OpError{Op: "GET_CONFIG", Err: err}
		}
		for _, a := range attrs {
			d := time.Duration(attrU32(a.val)) * time.Second
			switch a.typ {
			case cmdAttrTimeoutTCP:
				t.TCP = d
			case cmdAttrTimeoutTCPFin:
				t.TCPFin = d
			case cmdAttrTimeoutUDP:
				t.UDP = d
			}
		}
	}
	return t, nil
}

// SetTimeouts sets the non-zero timeouts of t (rounded down to seconds).
func (n *Netlink) SetTimeouts(t Timeouts) error {
	var w attrWriter
	for _, x := range []struct {
		typ uint16
		d   time.Duration
	}{{cmdAttrTimeoutTCP, t.TCP}, {cmdAttrTimeoutTCPFin, t.TCPFin}, {cmdAttrTimeoutUDP, t.UDP}} {
		if x.d < 0 || x.d/time.Second > 1<<31 {
			return &OpError{Op: "SET_CONFIG", Err: fmt.Errorf("timeout %v out of range", x.d)}
		}
		if x.d > 0 {
			w.u32(x.typ, uint32(x.d/time.Second))
		}
	}
	_, err := n.do(cmdSetConfig, 0, "", w.b)
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

// SyncDaemons lists the running connection synchronisation daemons.
func (n *Netlink) SyncDaemons() ([]SyncDaemon, error) {
	msgs, err := n.do(cmdGetDaemon, unix.NLM_F_DUMP, "", nil)
	if err != nil {
		return nil, err
	}
	var out []SyncDaemon
	for _, m := range msgs {
		v, ok, err := findAttr(m, cmdAttrDaemon)
		if err != nil || !ok {
			continue
		}
		d, err := decodeDaemon(v)
		if err != nil {
			return nil, &OpError{Op: "GET_DAEMON", Err: err}
		}
		out = append(out, d)
	}
	return out, nil
}

// StartSyncDaemon starts a master or backup sync daemon.
func (n *Netlink) StartSyncDaemon(d SyncDaemon) error {
	var w attrWriter
	encodeDaemon(&w, &d, true)
	_, err := n.do(cmdNewDaemon, 0, d.State.String(), w.b)
	return err
}

// StopSyncDaemon stops the master or backup sync daemon.
func (n *Netlink) StopSyncDaemon(s SyncState) error {
	var w attrWriter
	encodeDaemon(&w, &SyncDaemon{State: s}, false)
	_, err := n.do(cmdDelDaemon, 0, s.String(), w.b)
	return err
}
