package ipvs

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

const fakeFamily = 0x2a

// fakeKernel answers IPVS requests on an nltest connection: reply returns
// the payloads (after the genl header) for a command, or an errno.
type fakeKernel struct {
	t     *testing.T
	reply func(cmd uint8, flags netlink.HeaderFlags, attrs []byte) (payloads [][]byte, replyFlags netlink.HeaderFlags, errno int, extack string)
}

func (f *fakeKernel) open() *Netlink {
	c := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) != 1 {
			f.t.Fatalf("%d requests in one send", len(reqs))
		}
		req := reqs[0]
		if req.Header.Type != fakeFamily || len(req.Data) < 4 {
			f.t.Fatalf("bad request %+v", req)
		}
		hdr := netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}
		payloads, rflags, errno, extack := f.reply(req.Data[0], req.Header.Flags, req.Data[4:])
		if errno != 0 {
			return []netlink.Message{errorMsg(req, errno, extack)}, nil
		}
		var out []netlink.Message
		for _, p := range payloads {
			h := hdr
			h.Type, h.Flags = fakeFamily, rflags
			out = append(out, netlink.Message{Header: h, Data: append([]byte{req.Data[0], genlVersion, 0, 0}, p...)})
		}
		switch {
		case req.Header.Flags&netlink.Dump != 0:
			h := hdr
			h.Type, h.Flags = netlink.Done, netlink.Multi|rflags
			for i := range out {
				out[i].Header.Flags |= netlink.Multi
			}
			out = append(out, netlink.Message{Header: h, Data: nlenc.Int32Bytes(0)})
		case req.Header.Flags&netlink.Acknowledge != 0:
			out = append(out, errorMsg(req, 0, ""))
		}
		return out, nil
	})
	return &Netlink{c: c, family: fakeFamily}
}

// errorMsg is the kernel's NLMSG_ERROR for req: the errno, the request, and
// with an extended-ACK message its NLMSGERR_ATTR_MSG.
func errorMsg(req netlink.Message, errno int, extack string) netlink.Message {
	reqb, _ := req.MarshalBinary()
	m := netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append(nlenc.Int32Bytes(int32(-errno)), reqb...),
	}
	if extack != "" {
		m.Header.Flags |= netlink.AcknowledgeTLVs
		m.Data = append(m.Data, nltest.MustMarshalAttributes([]netlink.Attribute{
			{Type: unix.NLMSGERR_ATTR_MSG, Data: nlenc.Bytes(extack)},
		})...)
	}
	return m
}

func serviceReply(t *testing.T, k ServiceKey) []byte {
	return encode(t, func(ae *netlink.AttributeEncoder) { encodeService(ae, &Service{Key: k}, true) })
}

// The kernel marks a dump NLM_F_DUMP_INTR when the table changed while it
// was read; Table retries the dump instead of returning a torn table.
func TestTableRetriesInterruptedDump(t *testing.T) {
	k1 := AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80"))
	k2 := AddrKey(UDP, netip.MustParseAddrPort("10.0.0.2:53"))
	svcDumps := 0
	f := &fakeKernel{t: t, reply: func(cmd uint8, flags netlink.HeaderFlags, _ []byte) ([][]byte, netlink.HeaderFlags, int, string) {
		if flags&netlink.Dump == 0 || flags&netlink.Acknowledge != 0 {
			t.Errorf("command %d: flags %v, want a dump without ACK", cmd, flags)
		}
		switch cmd {
		case cmdGetService:
			svcDumps++
			if svcDumps == 1 { // torn: k2 was added while dumping
				return [][]byte{serviceReply(t, k1)}, netlink.DumpInterrupted, 0, ""
			}
			return [][]byte{serviceReply(t, k2), serviceReply(t, k1)}, 0, 0, ""
		case cmdGetDest:
			return nil, 0, 0, ""
		}
		t.Fatalf("unexpected command %d", cmd)
		return nil, 0, 0, ""
	}}
	n := f.open()
	defer n.Close()
	tab, err := n.Table()
	if err != nil {
		t.Fatal(err)
	}
	if svcDumps != 2 {
		t.Errorf("%d service dumps, want 2", svcDumps)
	}
	// Kernel order, not sorted.
	if len(tab.Services) != 2 || tab.Services[0].Key != k2 || tab.Services[1].Key != k1 {
		t.Errorf("services = %+v, want k2, k1", tab.Services)
	}
}

func TestTableGivesUpOnEndlesslyInterruptedDump(t *testing.T) {
	dumps := 0
	f := &fakeKernel{t: t, reply: func(uint8, netlink.HeaderFlags, []byte) ([][]byte, netlink.HeaderFlags, int, string) {
		dumps++
		return [][]byte{serviceReply(t, FWMarkKey(FamilyIPv4, 1))}, netlink.DumpInterrupted, 0, ""
	}}
	n := f.open()
	defer n.Close()
	_, err := n.Table()
	if !errors.Is(err, unix.EINTR) || dumps != maxDumpTries {
		t.Fatalf("err = %v after %d dumps, want EINTR after %d", err, dumps, maxDumpTries)
	}
}

// The kernel's extended-ACK text is part of the error; the errno stays
// reachable with errors.Is.
func TestErrorCarriesExtAck(t *testing.T) {
	f := &fakeKernel{t: t, reply: func(cmd uint8, flags netlink.HeaderFlags, _ []byte) ([][]byte, netlink.HeaderFlags, int, string) {
		if cmd != cmdNewService || flags != netlink.Request|netlink.Acknowledge {
			t.Errorf("command %d flags %v", cmd, flags)
		}
		return nil, 0, int(unix.ERANGE), "Attribute failed policy validation"
	}}
	n := f.open()
	defer n.Close()
	k := AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80"))
	err := n.NewService(Service{Key: k})
	var oe *OpError
	if !errors.Is(err, unix.ERANGE) || !errors.As(err, &oe) || oe.Message != "Attribute failed policy validation" {
		t.Fatalf("err = %#v", err)
	}
	want := "ipvs: NEW_SERVICE " + k.String() + ": numerical result out of range: Attribute failed policy validation"
	if err.Error() != want {
		t.Errorf("error text\n got %q\nwant %q", err.Error(), want)
	}
}

// A command without a reply is acknowledged; one with a reply is not (the
// ACK would be left in the socket for the next request).
func TestRequestFlags(t *testing.T) {
	f := &fakeKernel{t: t, reply: func(cmd uint8, flags netlink.HeaderFlags, _ []byte) ([][]byte, netlink.HeaderFlags, int, string) {
		switch cmd {
		case cmdGetInfo:
			if flags != netlink.Request {
				t.Errorf("GET_INFO flags %v", flags)
			}
			return [][]byte{encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(infoAttrVersion, 0x010201)
				ae.Uint32(infoAttrConnTabSize, 4096)
			})}, 0, 0, ""
		case cmdSetConfig:
			if flags != netlink.Request|netlink.Acknowledge {
				t.Errorf("SET_CONFIG flags %v", flags)
			}
			return nil, 0, 0, ""
		}
		t.Fatalf("unexpected command %d", cmd)
		return nil, 0, 0, ""
	}}
	n := f.open()
	defer n.Close()
	for range 2 {
		if info, err := n.Info(); err != nil || info != (Info{Version: 0x010201, ConnTableSize: 4096}) {
			t.Fatalf("Info = %+v, %v", info, err)
		}
		if err := n.SetTimeouts(Timeouts{TCP: 900e9}); err != nil {
			t.Fatal(err)
		}
	}
}

// Opening a handle in a namespace that cannot be entered fails, and the
// calling goroutine's thread is still in its own namespace: the switch
// happens on a separate thread (netlink.Config.NetNS), never on ours.
func TestNewNetlinkAtBadNamespaceKeepsCaller(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Skipf("no network namespaces: %v", err)
	}
	for _, path := range []string{"/dev/null", "/nonexistent/netns"} {
		n, err := NewNetlinkAt(path)
		if err == nil {
			n.Close()
			t.Errorf("NewNetlinkAt(%s) succeeded", path)
		}
		after, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil || after != before {
			t.Fatalf("after NewNetlinkAt(%s): namespace %s (%v), want %s", path, after, err, before)
		}
	}
}

// batchKernel answers the way the kernel does to several requests in one
// sendmsg: each in order, an NLMSG_ERROR for a failed one (errno from fail,
// by position over all requests), an ACK only when asked, one message per
// read. sends records the requests of each sendmsg.
type batchKernel struct {
	fail   func(i int, req netlink.Message) (errno int, extack string)
	n      int // requests seen
	queue  []netlink.Message
	readOK int // reads before a socket error; -1 for none
	sends  [][]netlink.Message
}

func (k *batchKernel) open() *Netlink {
	c := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if reqs == nil { // a read
			if k.readOK == 0 {
				return nil, unix.ENOBUFS
			}
			k.readOK--
			if len(k.queue) == 0 {
				return nil, unix.EAGAIN
			}
			m := k.queue[0]
			k.queue = k.queue[1:]
			return []netlink.Message{m}, nil
		}
		k.sends = append(k.sends, reqs)
		for _, req := range reqs {
			errno, extack := k.fail(k.n, req)
			k.n++
			if errno != 0 || req.Header.Flags&netlink.Acknowledge != 0 {
				k.queue = append(k.queue, errorMsg(req, errno, extack))
			}
		}
		return nil, nil
	})
	return &Netlink{c: c, family: fakeFamily}
}

func destOps(n int) []Op {
	k := AddrKey(TCP, netip.MustParseAddrPort("10.0.0.1:80"))
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Kind: OpAddDest, Service: Service{Key: k},
			Dest: Destination{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Port: 80, Weight: 1}}
	}
	return ops
}

// ApplyOps sends batchSize requests per sendmsg, only the last of each
// asking for an ACK, and matches the kernel's errors to their ops by
// sequence number: a failed op in the middle of a batch gets exactly its
// error, the others (before and after it) succeed.
func TestApplyOpsBatches(t *testing.T) {
	fails := map[int]unix.Errno{5: unix.ENOENT, batchSize - 1: unix.EEXIST, batchSize + 7: unix.ERANGE}
	k := &batchKernel{readOK: -1, fail: func(i int, req netlink.Message) (int, string) {
		if req.Header.Type != fakeFamily || req.Data[0] != cmdNewDest {
			t.Errorf("request %d: %+v", i, req.Header)
		}
		if e := fails[i]; e != 0 {
			return int(e), fmt.Sprintf("op %d", i)
		}
		return 0, ""
	}}
	n := k.open()
	ops := destOps(2*batchSize + 3)
	errs := n.ApplyOps(ops)
	if len(errs) != len(ops) {
		t.Fatalf("%d errors for %d ops", len(errs), len(ops))
	}
	for i, err := range errs {
		want := fails[i]
		if want == 0 {
			if err != nil {
				t.Errorf("op %d: %v", i, err)
			}
			continue
		}
		var oe *OpError
		if !errors.As(err, &oe) || oe.Err != want || oe.Op != "NEW_DEST" || oe.Message != fmt.Sprintf("op %d", i) ||
			oe.Object != ops[i].Service.Key.String()+" -> "+ops[i].Dest.AddrPort().String() {
			t.Errorf("op %d: err %#v, want %v", i, err, want)
		}
	}
	var sizes []int
	seqs := map[uint32]bool{}
	for _, s := range k.sends {
		sizes = append(sizes, len(s))
		for j, m := range s {
			if ack := m.Header.Flags&netlink.Acknowledge != 0; ack != (j == len(s)-1) {
				t.Errorf("request %d of %d: flags %v", j, len(s), m.Header.Flags)
			}
			seqs[m.Header.Sequence] = true
		}
	}
	if !slices.Equal(sizes, []int{batchSize, batchSize, 3}) {
		t.Errorf("sendmsg sizes %v", sizes)
	}
	if len(seqs) != len(ops) || len(k.queue) != 0 {
		t.Errorf("%d sequence numbers for %d ops, %d replies left unread", len(seqs), len(ops), len(k.queue))
	}
}

// A reply from an earlier exchange (another sequence number) is skipped;
// a socket error leaves the outcome of the ops not reported yet unknown,
// so they all get it, while an op whose error was read keeps its own.
func TestApplyOpsStaleReplyAndSocketError(t *testing.T) {
	k := &batchKernel{readOK: -1, fail: func(i int, _ netlink.Message) (int, string) {
		if i == 1 {
			return int(unix.ENOENT), ""
		}
		return 0, ""
	}}
	n := k.open()
	k.queue = []netlink.Message{errorMsg(netlink.Message{Header: netlink.Header{Sequence: 1 << 30}}, int(unix.EEXIST), "")}
	if errs := n.ApplyOps(destOps(3)); errs[0] != nil || !errors.Is(errs[1], unix.ENOENT) || errs[2] != nil {
		t.Fatalf("errs = %v", errs)
	}
	k.readOK = 2 // the stale reply and op 1's error, then ENOBUFS
	k.queue = []netlink.Message{errorMsg(netlink.Message{Header: netlink.Header{Sequence: 1 << 30}}, int(unix.EEXIST), "")}
	k.n = 0
	errs := n.ApplyOps(destOps(3))
	if !errors.Is(errs[0], unix.ENOBUFS) || !errors.Is(errs[1], unix.ENOENT) || !errors.Is(errs[2], unix.ENOBUFS) {
		t.Fatalf("errs = %v", errs)
	}
}

// The late replies of a request that timed out (an ACK, an error) come
// before the next request's: they are skipped, not taken for its own (or
// failing it with a mismatched sequence number).
func TestRequestSkipsLateReplies(t *testing.T) {
	k := &batchKernel{readOK: -1, fail: func(int, netlink.Message) (int, string) { return 0, "" }}
	n := k.open()
	late := netlink.Message{Header: netlink.Header{Sequence: 1 << 30}}
	k.queue = []netlink.Message{errorMsg(late, 0, ""), errorMsg(late, int(unix.ESRCH), "")}
	if err := n.Flush(); err != nil {
		t.Fatalf("Flush after late replies: %v", err)
	}
	if len(k.queue) != 0 {
		t.Errorf("%d replies left unread", len(k.queue))
	}
}

// daemonKernel answers the sync daemon commands like the kernel: EEXIST,
// ESRCH, and with intr set no reply at all to DEL_DAEMON (kthread_stop's
// EINTR, which netlink_rcv_skb does not acknowledge) although the daemon
// is stopped.
type daemonKernel struct {
	running map[SyncState]bool
	intr    bool
	queue   []netlink.Message // replies not read yet, one per read
}

func (k *daemonKernel) open(t *testing.T) *Netlink {
	c := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if reqs == nil { // a read
			if len(k.queue) == 0 {
				return nil, unix.EAGAIN // a socket timeout
			}
			m := k.queue[0]
			k.queue = k.queue[1:]
			return []netlink.Message{m}, nil
		}
		out := k.queue
		for _, req := range reqs {
			hdr := netlink.Header{Type: fakeFamily, Sequence: req.Header.Sequence, PID: req.Header.PID}
			cmd := req.Data[0]
			var d SyncDaemon
			if cmd == cmdNewDaemon || cmd == cmdDelDaemon {
				var err error
				if d, err = decodeNested(req.Data[4:], cmdAttrDaemon, "daemon", decodeDaemon); err != nil {
					t.Fatal(err)
				}
			}
			switch cmd {
			case cmdNewDaemon:
				errno := 0
				if k.running[d.State] {
					errno = int(unix.EEXIST)
				}
				k.running[d.State] = true
				out = append(out, errorMsg(req, errno, ""))
			case cmdDelDaemon:
				if !k.running[d.State] {
					out = append(out, errorMsg(req, int(unix.ESRCH), ""))
					break
				}
				delete(k.running, d.State)
				if !k.intr {
					out = append(out, errorMsg(req, 0, ""))
				}
			case cmdGetInfo:
				out = append(out, netlink.Message{Header: hdr, Data: []byte{cmd, genlVersion, 0, 0}})
			case cmdGetDaemon:
				for _, s := range []SyncState{SyncMaster, SyncBackup} {
					if k.running[s] {
						ae := netlink.NewAttributeEncoder()
						encodeDaemon(ae, &SyncDaemon{State: s, Interface: "eth0"}, true)
						b, _ := ae.Encode()
						h := hdr
						h.Flags = netlink.Multi
						out = append(out, netlink.Message{Header: h, Data: append([]byte{cmd, genlVersion, 0, 0}, b...)})
					}
				}
				h := hdr
				h.Type, h.Flags = netlink.Done, netlink.Multi
				out = append(out, netlink.Message{Header: h, Data: nlenc.Int32Bytes(0)})
			default:
				t.Fatalf("command %d", cmd)
			}
		}
		k.queue = out
		return nil, nil
	})
	return &Netlink{c: c, family: fakeFamily}
}

func TestSyncDaemonErrors(t *testing.T) {
	k := &daemonKernel{running: map[SyncState]bool{}}
	n := k.open(t)
	if err := n.StartSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	err := n.StartSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0"})
	if !errors.Is(err, ErrSyncDaemonRunning) || !errors.Is(err, unix.EEXIST) || errors.Is(err, ErrSyncDaemonNotRunning) {
		t.Errorf("start while running: %v", err)
	}
	err = n.StopSyncDaemon(SyncBackup)
	if !errors.Is(err, ErrSyncDaemonNotRunning) || !errors.Is(err, unix.ESRCH) || errors.Is(err, ErrSyncDaemonRunning) {
		t.Errorf("stop while stopped: %v", err)
	}
	// A late ACK and a late error of earlier requests are not taken for
	// the command's reply.
	late := netlink.Message{Header: netlink.Header{Sequence: 1 << 30}}
	k.queue = []netlink.Message{errorMsg(late, 0, ""), errorMsg(late, int(unix.EEXIST), "")}
	if err := n.StopSyncDaemon(SyncMaster); err != nil {
		t.Errorf("stop after late replies: %v", err)
	}
}

// A stop the kernel does not answer (EINTR) returns at once, and succeeds
// since the daemon is gone.
func TestStopSyncDaemonWithoutReply(t *testing.T) {
	k := &daemonKernel{running: map[SyncState]bool{SyncBackup: true}, intr: true}
	n := k.open(t)
	if err := n.StopSyncDaemon(SyncBackup); err != nil {
		t.Fatalf("stop without reply: %v", err)
	}
	if k.running[SyncBackup] {
		t.Fatal("backup still running")
	}
	if err := n.StopSyncDaemon(SyncBackup); !errors.Is(err, ErrSyncDaemonNotRunning) {
		t.Errorf("second stop: %v", err)
	}
}
