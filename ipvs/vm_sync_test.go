//go:build vm

package ipvs_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// syncThreads lists the kernel's sync daemon threads of every namespace
// (ipvs-m:GEN:ID for a master, ipvs-b:GEN:ID for a backup) as pid:name.
func syncThreads(t testing.TB) []string {
	t.Helper()
	comms, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range comms {
		b, err := os.ReadFile(c)
		if err != nil {
			continue // exited meanwhile
		}
		name := strings.TrimSpace(string(b))
		if strings.HasPrefix(name, "ipvs-m:") || strings.HasPrefix(name, "ipvs-b:") {
			out = append(out, filepath.Base(filepath.Dir(c))+":"+name)
		}
	}
	return out
}

// syncLab is a fresh namespace with a veth pair sync0 (10.99.0.1/24) and
// sync1 (10.99.0.2/24), up, lo up, and an IPVS handle in it.
type syncLab struct {
	ns *netns.NS
	nl *netlink.Handle
	n  *ipvs.Netlink
}

func newSyncLab(t *testing.T) *syncLab {
	t.Helper()
	vmtest.Require(t)
	ns := netns.New(t)
	nl := ns.Netlink(t)
	if err := nl.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sync0"}, PeerName: "sync1"}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"sync0", "sync1"} {
		l, err := nl.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 99, 0, byte(1+i)), Mask: net.CIDRMask(24, 32)}}
		if err := nl.AddrAdd(l, addr); err != nil {
			t.Fatal(err)
		}
		if err := nl.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	lo, err := nl.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	n, err := ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", ns.Handle()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &syncLab{ns: ns, nl: nl, n: n}
}

// running returns the states of the namespace's daemons.
func (l *syncLab) running(t *testing.T) []ipvs.SyncState {
	t.Helper()
	ds, err := l.n.SyncDaemons()
	if err != nil {
		t.Fatalf("SyncDaemons: %v", err)
	}
	var out []ipvs.SyncState
	for _, d := range ds {
		out = append(out, d.State)
	}
	return out
}

// TestVMSyncDaemonTransitions starts and stops the daemons as VRRP
// transitions do, 100 times: becoming MASTER stops the backup daemon and
// starts the master one, leaving MASTER the reverse. Every call succeeds
// at once, and no kernel thread is left behind.
func TestVMSyncDaemonTransitions(t *testing.T) {
	l := newSyncLab(t)
	before := syncThreads(t)
	master := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", SyncID: 51}
	backup := ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync0", SyncID: 51}
	if err := l.n.StartSyncDaemon(backup); err != nil {
		t.Fatalf("start backup: %v", err)
	}
	var slowest time.Duration
	timed := func(what string, i int, f func() error) {
		start := time.Now()
		err := f()
		slowest = max(slowest, time.Since(start))
		if err != nil {
			t.Fatalf("transition %d: %s: %v", i, what, err)
		}
	}
	const transitions = 100
	for i := range transitions {
		from, to := backup, master
		if i%2 == 1 {
			from, to = master, backup
		}
		timed("stop "+from.State.String(), i, func() error { return l.n.StopSyncDaemon(from.State) })
		timed("start "+to.State.String(), i, func() error { return l.n.StartSyncDaemon(to) })
		if got := l.running(t); !slices.Equal(got, []ipvs.SyncState{to.State}) {
			t.Fatalf("transition %d: running %v, want %v", i, got, to.State)
		}
	}
	during := syncThreads(t)
	if err := l.n.StopSyncDaemon(ipvs.SyncBackup); err != nil { // 100 transitions end in BACKUP
		t.Fatalf("final stop: %v", err)
	}
	after := syncThreads(t)
	// A thread that ran logged "sync thread started"; the others were
	// stopped before they ran, and their DEL_DAEMON got no reply (EINTR).
	ran := kernelLogCount(t, "sync thread started", "syncid = 51,")
	t.Logf("%d transitions, slowest call %v; %d of %d daemon threads ran before their stop; threads before %v, while running %v, after %v",
		transitions, slowest, ran, transitions+1, before, during, after)
	if len(during) != len(before)+1 || !strings.Contains(strings.Join(during, " "), ":ipvs-b:") {
		t.Errorf("threads while the backup runs: %v (before %v)", during, before)
	}
	if !slices.Equal(after, before) {
		t.Errorf("threads after stopping: %v, before starting: %v", after, before)
	}
}

// TestVMSyncDaemonErrors: a second start of a role and a stop of a role
// not running fail with the typed errors; both roles run at once.
func TestVMSyncDaemonErrors(t *testing.T) {
	l := newSyncLab(t)
	master := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", SyncID: 1}
	backup := ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1", SyncID: 1}
	for _, s := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		if err := l.n.StopSyncDaemon(s); !errors.Is(err, ipvs.ErrSyncDaemonNotRunning) || !errors.Is(err, unix.ESRCH) {
			t.Errorf("stop %v not running: %v, want ErrSyncDaemonNotRunning", s, err)
		}
	}
	for _, d := range []ipvs.SyncDaemon{master, backup} {
		if err := l.n.StartSyncDaemon(d); err != nil {
			t.Fatalf("start %v: %v", d.State, err)
		}
	}
	if got := l.running(t); !slices.Equal(got, []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup}) {
		t.Errorf("running %v, want master and backup", got)
	}
	for _, d := range []ipvs.SyncDaemon{master, backup} {
		d.SyncID = 2
		if err := l.n.StartSyncDaemon(d); !errors.Is(err, ipvs.ErrSyncDaemonRunning) || !errors.Is(err, unix.EEXIST) {
			t.Errorf("second start of %v: %v, want ErrSyncDaemonRunning", d.State, err)
		}
	}
	if err := l.n.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "nosuch"}); !errors.Is(err, unix.ENODEV) {
		t.Errorf("start on a missing interface: %v, want ENODEV", err)
	}
	for _, s := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		if err := l.n.StopSyncDaemon(s); err != nil {
			t.Errorf("stop %v: %v", s, err)
		}
	}
	if got := l.running(t); len(got) != 0 {
		t.Errorf("running after stop: %v", got)
	}
}

// TestVMSyncDaemonOptions reads back every option, the kernel's defaults
// for those left zero, and its clamping of maxlen.
func TestVMSyncDaemonOptions(t *testing.T) {
	l := newSyncLab(t)
	for _, c := range []struct {
		start, want ipvs.SyncDaemon
		mtu         int
	}{
		{ // defaults: 1500 - 20 - 8 for a master, the MTU's for a backup
			ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0"},
			ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", MaxLen: 1472, McastGroup: vip("224.0.0.81"), McastPort: 8848, McastTTL: 1}, 1500,
		},
		{
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo"},
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo", MaxLen: 65535 - 28, McastGroup: vip("224.0.0.81"), McastPort: 8848, McastTTL: 1}, 65536,
		},
		{
			ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", SyncID: 255, MaxLen: 1400, McastGroup: vip("239.1.2.3"), McastPort: 9000, McastTTL: 5},
			ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", SyncID: 255, MaxLen: 1400, McastGroup: vip("239.1.2.3"), McastPort: 9000, McastTTL: 5}, 1500,
		},
		{ // IPv6 group: the header is 40 + 8
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1", SyncID: 7, McastGroup: vip("ff02::1:81"), McastPort: 65535, McastTTL: 255},
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1", SyncID: 7, MaxLen: 1452, McastGroup: vip("ff02::1:81"), McastPort: 65535, McastTTL: 255}, 1500,
		},
		{ // a backup's maxlen is at least 1024
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1", MaxLen: 100},
			ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1", MaxLen: 1024, McastGroup: vip("224.0.0.81"), McastPort: 8848, McastTTL: 1}, 1500,
		},
	} {
		if err := l.n.StartSyncDaemon(c.start); err != nil {
			t.Errorf("start %+v: %v", c.start, err)
			continue
		}
		ds, err := l.n.SyncDaemons()
		if err != nil || len(ds) != 1 || ds[0] != c.want {
			t.Errorf("start %+v: SyncDaemons = %+v, %v; want %+v", c.start, ds, err, c.want)
		}
		if got := c.start.Effective(c.mtu); got != c.want {
			t.Errorf("%+v.Effective(%d) = %+v, the kernel lists %+v", c.start, c.mtu, got, c.want)
		}
		if err := l.n.StopSyncDaemon(c.start.State); err != nil {
			t.Errorf("stop %+v: %v", c.start, err)
		}
	}
	// A backup's default maxlen follows its interface's MTU.
	sync1, err := l.nl.LinkByName("sync1")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.nl.LinkSetMTU(sync1, 9000); err != nil {
		t.Fatal(err)
	}
	jumbo := ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1"}
	if err := l.n.StartSyncDaemon(jumbo); err != nil {
		t.Fatal(err)
	}
	if ds, err := l.n.SyncDaemons(); err != nil || len(ds) != 1 || ds[0] != jumbo.Effective(9000) || ds[0].MaxLen != 8972 {
		t.Errorf("backup on MTU 9000: %+v, %v; want %+v", ds, err, jumbo.Effective(9000))
	}
	if err := l.n.StopSyncDaemon(ipvs.SyncBackup); err != nil {
		t.Error(err)
	}

	// The kernel refuses a sync daemon while a service has destinations of
	// the other family, with a bare EINVAL: the error names the service.
	k := key(ipvs.UDP, "10.0.0.1:53")
	if err := l.n.NewService(ipvs.Service{Key: k, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	if err := l.n.NewDestination(k, ipvs.Destination{Addr: vip("fd00::2"), Port: 53, Weight: 1, Method: ipvs.Tunnel}); err != nil {
		t.Fatal(err)
	}
	err = l.n.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync0"})
	var oe *ipvs.OpError
	if !errors.Is(err, unix.EINVAL) || !errors.As(err, &oe) || !strings.Contains(oe.Message, "UDP 10.0.0.1:53") {
		t.Errorf("start with a mixed-family service: %v, want EINVAL naming the service", err)
	}
	if err := l.n.DelService(k); err != nil {
		t.Fatal(err)
	}
	// The kernel refuses a group that is not multicast.
	if err := l.n.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", McastGroup: vip("10.0.0.1")}); !errors.Is(err, unix.EINVAL) {
		t.Errorf("unicast group: %v, want EINVAL", err)
	}
}

// TestVMSyncDaemonLinkGoneAndNamespaceExit: a daemon whose interface went
// down or away still stops; a namespace that exits with daemons running
// takes their threads with it.
func TestVMSyncDaemonLinkGoneAndNamespaceExit(t *testing.T) {
	l := newSyncLab(t)
	before := syncThreads(t)
	start := func(d ipvs.SyncDaemon) {
		t.Helper()
		if err := l.n.StartSyncDaemon(d); err != nil {
			t.Fatalf("start %v on %s: %v", d.State, d.Interface, err)
		}
	}
	stop := func(s ipvs.SyncState, why string) {
		t.Helper()
		if err := l.n.StopSyncDaemon(s); err != nil {
			t.Errorf("stop %v (%s): %v", s, why, err)
		}
	}
	sync0, err := l.nl.LinkByName("sync0")
	if err != nil {
		t.Fatal(err)
	}
	start(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0"})
	start(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync0"})
	if err := l.nl.LinkSetDown(sync0); err != nil {
		t.Fatal(err)
	}
	stop(ipvs.SyncMaster, "link down")
	stop(ipvs.SyncBackup, "link down")
	// A master needs a route to the group: on a down link it cannot start.
	if err := l.n.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0"}); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("master on a down link: %v, want ENETUNREACH", err)
		_ = l.n.StopSyncDaemon(ipvs.SyncMaster)
	}
	start(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync1"})
	start(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "sync1"})
	if err := l.nl.LinkDel(sync0); err != nil { // takes its peer sync1 along
		t.Fatal(err)
	}
	stop(ipvs.SyncMaster, "link deleted")
	stop(ipvs.SyncBackup, "link deleted")

	// Namespace exit with both running.
	start(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "lo"})
	start(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo"})
	if got := syncThreads(t); len(got) != len(before)+2 {
		t.Fatalf("threads with both running: %v (before %v)", got, before)
	}
	l.n.Close()
	l.nl.Close()
	l.ns.Close()
	deadline := time.Now().Add(10 * time.Second) // the namespace is cleaned up by a kernel worker
	for !slices.Equal(syncThreads(t), before) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := syncThreads(t); !slices.Equal(got, before) {
		t.Errorf("threads after the namespace exited: %v, before %v", got, before)
	}
}

// kernelLogCount counts the kernel log lines holding every one of subs.
func kernelLogCount(t *testing.T, subs ...string) int {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Logf("kernel log: %v", err)
		return -1
	}
	defer unix.Close(fd)
	count := 0
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) { // overwritten records: go on
			continue
		}
		if err != nil || n <= 0 {
			return count
		}
		line := string(buf[:n])
		if !slices.ContainsFunc(subs, func(s string) bool { return !strings.Contains(line, s) }) {
			count++
		}
	}
}

// syncPair is two namespaces joined by a veth pair: the master's sync0
// (10.99.0.1/24, fd99::1/64) and the backup's sync1 (10.99.0.2/24,
// fd99::2/64), with an IPVS handle in each.
type syncPair struct {
	master, backup     *netns.NS
	masterN, backupN   *ipvs.Netlink
	masterNL, backupNL *netlink.Handle
}

func newSyncPair(t *testing.T) *syncPair {
	t.Helper()
	vmtest.Require(t)
	p := &syncPair{master: netns.New(t), backup: netns.New(t)}
	var err error
	if p.masterNL, err = netlink.NewHandleAt(p.master.Handle(), unix.NETLINK_ROUTE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.masterNL.Close)
	if p.backupNL, err = netlink.NewHandleAt(p.backup.Handle(), unix.NETLINK_ROUTE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.backupNL.Close)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sync0"}, PeerName: "sync1",
		PeerNamespace: netlink.NsFd(p.backup.Handle())}
	if err := p.masterNL.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	for i, side := range []struct {
		ns   *netns.NS
		nl   *netlink.Handle
		link string
	}{{p.master, p.masterNL, "sync0"}, {p.backup, p.backupNL, "sync1"}} {
		if err := side.ns.Do(func() error { return netns.WriteSysctl("net.ipv6.conf.default.accept_dad", "0") }); err != nil {
			t.Fatal(err)
		}
		l, err := side.nl.LinkByName(side.link)
		if err != nil {
			t.Fatal(err)
		}
		if err := side.ns.Do(func() error { return netns.WriteSysctl("net.ipv6.conf."+side.link+".accept_dad", "0") }); err != nil {
			t.Fatal(err)
		}
		for _, a := range []*net.IPNet{
			{IP: net.IPv4(10, 99, 0, byte(1+i)), Mask: net.CIDRMask(24, 32)},
			{IP: net.ParseIP(fmt.Sprintf("fd99::%d", 1+i)), Mask: net.CIDRMask(64, 128)},
		} {
			if err := side.nl.AddrAdd(l, &netlink.Addr{IPNet: a, Flags: unix.IFA_F_NODAD}); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"lo", side.link} {
			l, err := side.nl.LinkByName(name)
			if err == nil {
				err = side.nl.LinkSetUp(l)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if p.masterN, err = ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", p.master.Handle())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.masterN.Close() })
	if p.backupN, err = ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", p.backup.Handle())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.backupN.Close() })
	return p
}

// conns reads the connection table of ns.
func conns(t *testing.T, ns *netns.NS) []ipvs.Connection {
	t.Helper()
	var out []ipvs.Connection
	err := ns.Do(func() error {
		f, err := os.Open("/proc/thread-self/net/ip_vs_conn")
		if err != nil {
			return err
		}
		defer f.Close()
		out, err = ipvs.ParseConnections(f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVMSyncDaemonSyncs runs a master in one namespace and a backup in
// another with each option set (IPv4 default group, IPv4 group with port,
// TTL, syncid and maxlen, IPv6 group): connections the master's IPVS makes
// appear in the backup's table, with their real server; a backup with another syncid ignores them.
// Each pair is then stopped while the other side still runs.
func TestVMSyncDaemonSyncs(t *testing.T) {
	p := newSyncPair(t)
	before := syncThreads(t)
	vs := key(ipvs.UDP, "10.98.0.1:53")
	lo, err := p.masterNL.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.masterNL.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 98, 0, 1), Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := p.masterN.NewService(ipvs.Service{Key: vs, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	if err := p.masterN.NewDestination(vs, ipvs.Destination{Addr: vip("10.99.0.9"), Port: 53, Weight: 1, Method: ipvs.Masq}); err != nil {
		t.Fatal(err)
	}
	port := 40000
	for _, c := range []struct {
		name          string
		master        ipvs.SyncDaemon
		backupSyncID  uint32
		wantConnected bool
	}{
		{"default group", ipvs.SyncDaemon{Interface: "sync0", SyncID: 1}, 1, true},
		{"group, port, ttl, maxlen", ipvs.SyncDaemon{Interface: "sync0", SyncID: 200, McastGroup: vip("239.1.2.3"), McastPort: 9000, McastTTL: 2, MaxLen: 1024}, 200, true},
		{"IPv6 group", ipvs.SyncDaemon{Interface: "sync0", SyncID: 7, McastGroup: vip("ff02::1:81"), McastPort: 9001}, 7, true},
		{"other syncid", ipvs.SyncDaemon{Interface: "sync0", SyncID: 3}, 4, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.master
			m.State = ipvs.SyncMaster
			b := m
			b.State, b.Interface, b.SyncID, b.MaxLen, b.McastTTL = ipvs.SyncBackup, "sync1", c.backupSyncID, 0, 0
			if err := p.backupN.StartSyncDaemon(b); err != nil {
				t.Fatalf("start backup: %v", err)
			}
			if err := p.masterN.StartSyncDaemon(m); err != nil {
				t.Fatalf("start master: %v", err)
			}
			// Three clients, three datagrams each: UDP is synced on its
			// third packet (net.ipv4.vs.sync_threshold 3).
			err := p.master.Do(func() error {
				for range 3 {
					port++
					c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 98, 0, 1), Port: port}, &net.UDPAddr{IP: net.IPv4(10, 98, 0, 1), Port: 53})
					if err != nil {
						return err
					}
					for range 3 {
						if _, err := c.Write([]byte("x")); err != nil {
							c.Close()
							return err
						}
					}
					c.Close()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := 3
			if !c.wantConnected {
				want = 0
			}
			synced := func() int {
				n := 0
				for _, cn := range conns(t, p.backup) {
					if cn.Virtual.Addr() == vs.Addr && cn.Dest == netip.MustParseAddrPort("10.99.0.9:53") &&
						int(cn.Client.Port()) > port-3 && int(cn.Client.Port()) <= port {
						n++
					}
				}
				return n
			}
			wait := 5 * time.Second // the master sends within 2 s (IPVS_SYNC_FLUSH_TIME)
			if !c.wantConnected {
				wait = 3 * time.Second
			}
			deadline := time.Now().Add(wait)
			for synced() < 3 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if got := synced(); got != want {
				t.Errorf("%d of the master's 3 connections in the backup's table, want %d (master has %d entries)", got, want, len(conns(t, p.master)))
			}
			for _, s := range []struct {
				n  *ipvs.Netlink
				st ipvs.SyncState
			}{{p.masterN, ipvs.SyncMaster}, {p.backupN, ipvs.SyncBackup}} {
				if err := s.n.StopSyncDaemon(s.st); err != nil {
					t.Errorf("stop %v: %v", s.st, err)
				}
			}
		})
	}
	if after := syncThreads(t); !slices.Equal(after, before) {
		t.Errorf("threads after: %v, before %v", after, before)
	}
}
