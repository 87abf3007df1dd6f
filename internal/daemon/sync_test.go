package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"

	"time"

	"github.com/lvs-ha/lvs-ha/conf"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

const syncConfBase = `
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

func syncConf(global string) string {
	return "global_defs {\n" + global + "\n}\n" + syncConfBase
}

func TestSyncPlanSemantics(t *testing.T) {
	d := func(iface string, id uint32) *ipvs.SyncDaemon { return &ipvs.SyncDaemon{Interface: iface, SyncID: id} }
	for _, tc := range []struct {
		name, src string
		daemon    *ipvs.SyncDaemon
		instance  string
	}{
		{"none", syncConf(""), nil, ""},
		{"instance: syncid is the VRID", syncConf("lvs_sync_daemon eth1 VI_1"), d("eth1", 51), "VI_1"},
		{"inst keyword", syncConf("lvs_sync_daemon eth1 inst VI_1"), d("eth1", 51), "VI_1"},
		{"explicit id", syncConf("lvs_sync_daemon eth1 inst VI_1 id 7"), d("eth1", 7), "VI_1"},
		{"no instance: syncid 0", syncConf("lvs_sync_daemon eth1"), d("eth1", 0), ""},
		{"no instance, id", syncConf("lvs_sync_daemon eth1 id 9"), d("eth1", 9), ""},
		{"all options", syncConf("lvs_sync_daemon eth1 inst VI_1 maxlen 1400 port 8850 ttl 2 group 239.1.2.3"),
			&ipvs.SyncDaemon{Interface: "eth1", SyncID: 51, MaxLen: 1400, McastPort: 8850, McastTTL: 2, McastGroup: netip.MustParseAddr("239.1.2.3")}, "VI_1"},
		{"legacy lvs_sync_daemon_interface", strings.Replace(syncConf(""), "priority 100", "priority 100\n    lvs_sync_daemon_interface eth2", 1), d("eth2", 51), "VI_1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSyncPlan(loadConf(t, tc.src))
			if (p.daemon == nil) != (tc.daemon == nil) || p.daemon != nil && *p.daemon != *tc.daemon {
				t.Errorf("daemon = %+v, want %+v", p.daemon, tc.daemon)
			}
			if p.instance != tc.instance {
				t.Errorf("instance = %q, want %q", p.instance, tc.instance)
			}
		})
	}
}

func TestSyncPlanWant(t *testing.T) {
	tied := syncPlan{daemon: &ipvs.SyncDaemon{Interface: "eth1", SyncID: 5}, instance: "VI_1"}
	free := syncPlan{daemon: &ipvs.SyncDaemon{Interface: "eth1"}}
	roles := func(ds []ipvs.SyncDaemon) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.State.String())
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		p    syncPlan
		st   vrrp.State
		want string
	}{
		{tied, vrrp.StateInitialize, "backup"},
		{tied, vrrp.StateBackup, "backup"},
		{tied, vrrp.StateMaster, "master"},
		{tied, vrrp.StateFault, "backup"},
		{free, vrrp.StateInitialize, "master,backup"},
		{free, vrrp.StateMaster, "master,backup"},
		{syncPlan{}, vrrp.StateMaster, ""},
	} {
		if got := roles(tc.p.want(tc.st)); got != tc.want {
			t.Errorf("%+v in %s: want %q, got %q", tc.p.instance, tc.st, tc.want, got)
		}
	}
}

func TestSyncOps(t *testing.T) {
	m := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth1", SyncID: 5}
	b := m
	b.State = ipvs.SyncBackup
	other := b
	other.SyncID = 6
	// The kernel lists its defaults.
	kb := b
	kb.McastGroup, kb.McastPort, kb.McastTTL, kb.MaxLen = syncDefaultGroup4, 8848, 1, 1472
	ours := map[ipvs.SyncState]bool{ipvs.SyncMaster: true, ipvs.SyncBackup: true}
	none := map[ipvs.SyncState]bool{}
	str := func(ops []syncOp) string {
		var s []string
		for _, o := range ops {
			s = append(s, o.String())
		}
		return strings.Join(s, "; ")
	}
	for _, tc := range []struct {
		name       string
		want, have []ipvs.SyncDaemon
		managed    bool
		owned      map[ipvs.SyncState]bool
		ops        string
	}{
		{"start backup", []ipvs.SyncDaemon{b}, nil, true, none, "start backup sync daemon (interface eth1, syncid 5)"},
		{"to MASTER: stop backup then start master", []ipvs.SyncDaemon{m}, []ipvs.SyncDaemon{b}, true, ours,
			"stop backup sync daemon; start master sync daemon (interface eth1, syncid 5)"},
		{"to BACKUP: stop master then start backup", []ipvs.SyncDaemon{b}, []ipvs.SyncDaemon{m}, true, ours,
			"stop master sync daemon; start backup sync daemon (interface eth1, syncid 5)"},
		{"running as wanted, kernel defaults listed", []ipvs.SyncDaemon{b}, []ipvs.SyncDaemon{kb}, true, none, ""},
		{"both", []ipvs.SyncDaemon{m, b}, nil, true, none,
			"start master sync daemon (interface eth1, syncid 5); start backup sync daemon (interface eth1, syncid 5)"},
		{"changed syncid: restart", []ipvs.SyncDaemon{other}, []ipvs.SyncDaemon{b}, true, ours,
			"stop backup sync daemon; start backup sync daemon (interface eth1, syncid 6)"},
		{"foreign with other settings: replaced", []ipvs.SyncDaemon{other}, []ipvs.SyncDaemon{b}, true, none,
			"stop backup sync daemon; start backup sync daemon (interface eth1, syncid 6)"},
		{"foreign of the other role while managed: stopped", []ipvs.SyncDaemon{b}, []ipvs.SyncDaemon{m, b}, true, none,
			"stop master sync daemon"},
		{"removed: ours stopped", nil, []ipvs.SyncDaemon{m, b}, false, map[ipvs.SyncState]bool{ipvs.SyncBackup: true},
			"stop backup sync daemon"},
		{"removed: foreign left", nil, []ipvs.SyncDaemon{m}, false, none, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := str(syncOps(tc.want, tc.have, tc.managed, tc.owned)); got != tc.ops {
				t.Errorf("ops:\n got %s\nwant %s", got, tc.ops)
			}
		})
	}
	if got := str(shutdownSyncOps([]ipvs.SyncDaemon{m, b}, map[ipvs.SyncState]bool{ipvs.SyncMaster: true})); got != "stop master sync daemon" {
		t.Errorf("shutdown ops: %s", got)
	}
}

// syncKernelFake records the sync daemon calls of a fake kernel.
type syncKernelFake struct {
	*ipvstest.Kernel
	mu       sync.Mutex
	calls    []string
	failStop int  // the next failStop stops fail with EAGAIN
	vanish   bool // the next stop finds its daemon gone (stopped behind lvs-ha's back)
	closed   bool
}

func (k *syncKernelFake) StartSyncDaemon(d ipvs.SyncDaemon) error {
	k.mu.Lock()
	k.calls = append(k.calls, fmt.Sprintf("start %s %s %d", d.State, d.Interface, d.SyncID))
	k.mu.Unlock()
	return k.Kernel.StartSyncDaemon(d)
}

func (k *syncKernelFake) StopSyncDaemon(s ipvs.SyncState) error {
	k.mu.Lock()
	k.calls = append(k.calls, "stop "+s.String())
	fail := k.failStop > 0
	if fail {
		k.failStop--
	}
	vanish := k.vanish
	k.vanish = false
	k.mu.Unlock()
	if vanish {
		_ = k.Kernel.StopSyncDaemon(s)
	}
	if fail {
		return syscall.EAGAIN
	}
	return k.Kernel.StopSyncDaemon(s)
}

func (k *syncKernelFake) Close() error { k.closed = true; return nil }

// take returns and forgets the calls so far.
func (k *syncKernelFake) take() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := strings.Join(k.calls, "; ")
	k.calls = nil
	return s
}

func (k *syncKernelFake) running() string {
	ds, _ := k.SyncDaemons()
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s %s %d", d.State, d.Interface, d.SyncID))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// fakeSource is a VRRP runner whose instance state the test sets.
type fakeSource struct {
	mu    sync.Mutex
	ready chan struct{}
	state vrrp.State
}

func newFakeSource(st vrrp.State) *fakeSource {
	f := &fakeSource{ready: make(chan struct{}), state: st}
	close(f.ready)
	return f
}

func (f *fakeSource) Ready() <-chan struct{} { return f.ready }

func (f *fakeSource) Snapshot() runner.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return runner.Stats{Instances: []runner.InstanceStats{{Name: "VI_1", VRID: 51, State: f.state}}}
}

func (f *fakeSource) set(st vrrp.State) {
	f.mu.Lock()
	f.state = st
	f.mu.Unlock()
}

// fakeSysctls is net.ipv4.vs in memory.
type fakeSysctls struct {
	mu     sync.Mutex
	vals   map[string]string
	writes []string
}

func (f *fakeSysctls) Read(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[name]
	if !ok {
		return "", errors.New("no such sysctl " + name)
	}
	return v, nil
}

// state returns the values and the writes so far, and forgets the writes.
func (f *fakeSysctls) state() (map[string]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.writes
	f.writes = nil
	return maps.Clone(f.vals), w
}

func (f *fakeSysctls) Write(name, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vals[name] = value
	f.writes = append(f.writes, name+"="+value)
	return nil
}

type syncdHarness struct {
	s      *syncd
	k      *syncKernelFake
	src    *fakeSource
	sys    *fakeSysctls
	logs   *logBuf
	opens  atomic.Int32
	cancel context.CancelFunc
	done   chan struct{}
}

// startSyncd runs a syncd for the global_defs lines global in a synctest
// bubble; openErrs make the first opens fail.
func startSyncd(t *testing.T, global string, st vrrp.State, openErrs int) *syncdHarness {
	t.Helper()
	return startSyncdSrc(t, syncConf(global), st, openErrs)
}

// startSyncdSrc is startSyncd for a whole configuration.
func startSyncdSrc(t *testing.T, src string, st vrrp.State, openErrs int) *syncdHarness {
	t.Helper()
	h := &syncdHarness{k: &syncKernelFake{Kernel: &ipvstest.Kernel{}}, src: newFakeSource(st), logs: &logBuf{},
		sys: &fakeSysctls{vals: map[string]string{"sloppy_tcp": "0", "sync_threshold": "3 50", "sync_retries": "0",
			"sync_refresh_period": "0", "sloppy_sctp": "0", "sync_persist_mode": "0"}}}
	h.s = newSyncd(newSyncPlan(loadConf(t, src)), syncdOptions{
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Open: func() (syncKernel, error) {
			if int(h.opens.Add(1)) <= openErrs {
				return nil, errors.New("generic netlink family IPVS not found")
			}
			return h.k, nil
		},
		Sysctls: h.sys,
	})
	h.s.setSource(h.src)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		_ = h.s.Run(ctx)
	}()
	synctest.Wait()
	return h
}

func (h *syncdHarness) stop() {
	h.cancel()
	<-h.done
}

func (h *syncdHarness) transition(st vrrp.State) {
	h.src.set(st)
	time.Sleep(syncPollInterval)
	synctest.Wait()
}

func (h *syncdHarness) reload(t *testing.T, global string) {
	h.s.commit(newSyncPlan(loadConf(t, syncConf(global))))
	synctest.Wait()
}

func expectCalls(t *testing.T, k *syncKernelFake, want string) {
	t.Helper()
	if got := k.take(); got != want {
		t.Errorf("kernel calls:\n got %q\nwant %q", got, want)
	}
}

func TestSyncdFollowsInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth1 51")
		h.transition(vrrp.StateMaster)
		expectCalls(t, h.k, "stop backup; start master eth1 51")
		h.transition(vrrp.StateBackup)
		expectCalls(t, h.k, "stop master; start backup eth1 51")
		h.transition(vrrp.StateMaster)
		expectCalls(t, h.k, "stop backup; start master eth1 51")
		h.transition(vrrp.StateFault)
		expectCalls(t, h.k, "stop master; start backup eth1 51")
		h.transition(vrrp.StateBackup) // FAULT -> BACKUP: the backup daemon stays
		expectCalls(t, h.k, "")
		time.Sleep(time.Minute) // polling changes nothing
		synctest.Wait()
		expectCalls(t, h.k, "")
		h.stop()
		expectCalls(t, h.k, "stop backup")
		if r := h.k.running(); r != "" || !h.k.closed {
			t.Errorf("after stop: running %q, closed %v", r, h.k.closed)
		}
	})
}

func TestSyncdStartsMasterWhenInstanceStartsMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateMaster, 0)
		expectCalls(t, h.k, "start master eth1 51")
		h.stop()
		expectCalls(t, h.k, "stop master")
	})
}

func TestSyncdWaitsForVRRPReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &syncdHarness{k: &syncKernelFake{Kernel: &ipvstest.Kernel{}}}
		src := &fakeSource{ready: make(chan struct{}), state: vrrp.StateMaster}
		h.s = newSyncd(newSyncPlan(loadConf(t, syncConf("lvs_sync_daemon eth1 VI_1"))), syncdOptions{
			Open: func() (syncKernel, error) { return h.k, nil }, Sysctls: &fakeSysctls{}})
		h.s.setSource(src)
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.done = cancel, make(chan struct{})
		go func() { defer close(h.done); _ = h.s.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		expectCalls(t, h.k, "") // no backup daemon before the instance's initial state is known
		close(src.ready)
		time.Sleep(syncPollInterval)
		synctest.Wait()
		expectCalls(t, h.k, "start master eth1 51")
		h.stop()
	})
}

func TestSyncdWithoutInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 id 3 group 239.0.0.81", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start master eth1 3; start backup eth1 3")
		h.transition(vrrp.StateMaster) // not tied: nothing changes
		h.transition(vrrp.StateBackup)
		expectCalls(t, h.k, "")
		h.stop()
		expectCalls(t, h.k, "stop master; stop backup")
	})
}

func TestSyncdAdoptsAMatchingDaemonAndLeavesItAtStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &ipvstest.Kernel{}
		// Running before lvs-ha starts, as the kernel lists it.
		_ = k.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "eth1", SyncID: 51,
			McastGroup: syncDefaultGroup4, McastPort: 8848, McastTTL: 1, MaxLen: 1472})
		h := &syncdHarness{k: &syncKernelFake{Kernel: k}, src: newFakeSource(vrrp.StateBackup), logs: &logBuf{}}
		h.s = newSyncd(newSyncPlan(loadConf(t, syncConf("lvs_sync_daemon eth1 VI_1"))), syncdOptions{
			Open: func() (syncKernel, error) { return h.k, nil }, Sysctls: &fakeSysctls{}})
		h.s.setSource(h.src)
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.done = cancel, make(chan struct{})
		go func() { defer close(h.done); _ = h.s.Run(ctx) }()
		synctest.Wait()
		expectCalls(t, h.k, "") // adopted
		h.stop()
		expectCalls(t, h.k, "") // not ours: left running
		if r := h.k.running(); r != "backup eth1 51" {
			t.Errorf("running %q", r)
		}
	})
}

func TestSyncdReplacesAForeignDaemonWithOtherSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &ipvstest.Kernel{}
		_ = k.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "eth0", SyncID: 1})
		_ = k.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth0", SyncID: 1})
		h := &syncdHarness{k: &syncKernelFake{Kernel: k}, src: newFakeSource(vrrp.StateBackup), logs: &logBuf{}}
		h.s = newSyncd(newSyncPlan(loadConf(t, syncConf("lvs_sync_daemon eth1 VI_1"))), syncdOptions{
			Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
			Open:   func() (syncKernel, error) { return h.k, nil }, Sysctls: &fakeSysctls{}})
		h.s.setSource(h.src)
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.done = cancel, make(chan struct{})
		go func() { defer close(h.done); _ = h.s.Run(ctx) }()
		synctest.Wait()
		expectCalls(t, h.k, "stop master; stop backup; start backup eth1 51")
		if !strings.Contains(h.logs.String(), "not started by lvs-ha") {
			t.Errorf("replacing a foreign daemon is not logged as such:\n%s", h.logs)
		}
		h.stop()
		expectCalls(t, h.k, "stop backup")
	})
}

func TestSyncdReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth1 51")
		h.reload(t, "lvs_sync_daemon eth1 inst VI_1 id 51") // the same daemon
		expectCalls(t, h.k, "")
		h.reload(t, "lvs_sync_daemon eth1 inst VI_1 id 52")
		expectCalls(t, h.k, "stop backup; start backup eth1 52")
		h.transition(vrrp.StateMaster)
		expectCalls(t, h.k, "stop backup; start master eth1 52")
		h.reload(t, "") // removed: ours stopped
		expectCalls(t, h.k, "stop master")
		h.transition(vrrp.StateBackup)
		expectCalls(t, h.k, "")
		h.reload(t, "lvs_sync_daemon eth1") // back, without instance
		expectCalls(t, h.k, "start master eth1 0; start backup eth1 0")
		h.stop()
		expectCalls(t, h.k, "stop master; stop backup")
	})
}

func TestSyncdRemovedLeavesForeignDaemons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth1 51")
		// Someone starts a master daemon by hand while lvs-ha runs a backup one.
		_ = h.k.Kernel.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth9", SyncID: 9})
		h.reload(t, "")
		expectCalls(t, h.k, "stop backup")
		h.stop()
		if r := h.k.running(); r != "master eth9 9" {
			t.Errorf("running %q, want the foreign master daemon", r)
		}
	})
}

func TestSyncdRetriesWithoutIPVS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 3)
		expectCalls(t, h.k, "")
		time.Sleep(ipvsRetryInterval - time.Second) // polling does not retry early
		synctest.Wait()
		if n := h.opens.Load(); n != 1 {
			t.Errorf("%d opens before the retry interval", n)
		}
		time.Sleep(2*ipvsRetryInterval + time.Second)
		synctest.Wait()
		expectCalls(t, h.k, "start backup eth1 51")
		if n := strings.Count(h.logs.String(), "level=ERROR msg=\"IPVS unavailable"); n != 1 {
			t.Errorf("IPVS unavailable logged %d times at error level:\n%s", n, h.logs)
		}
		if !strings.Contains(h.logs.String(), "IPVS available") {
			t.Errorf("recovery not logged:\n%s", h.logs)
		}
		h.stop()
	})
}

func TestSyncdRetriesAFailedStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth1 51")
		h.k.mu.Lock()
		h.k.failStop = 1
		h.k.mu.Unlock()
		h.transition(vrrp.StateMaster)
		// The stop failed; the master daemon starts anyway (the kernel runs
		// both roles at once), and the stop is retried later.
		expectCalls(t, h.k, "stop backup; start master eth1 51")
		if !strings.Contains(h.logs.String(), "apply failed") {
			t.Errorf("failure not logged:\n%s", h.logs)
		}
		time.Sleep(ipvsRetryInterval)
		synctest.Wait()
		expectCalls(t, h.k, "stop backup")
		if r := h.k.running(); r != "master eth1 51" {
			t.Errorf("running %q", r)
		}
		h.stop()
		expectCalls(t, h.k, "stop master")
	})
}

func TestSyncdSysctls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sloppy_tcp\nlvs_sync_threshold 1 10\nlvs_sync_retries 2", vrrp.StateBackup, 0)
		want := map[string]string{"sloppy_tcp": "1", "sync_threshold": "1 10", "sync_retries": "2",
			"sync_refresh_period": "0", "sloppy_sctp": "0", "sync_persist_mode": "0"}
		if vals, _ := h.sys.state(); !maps.Equal(vals, want) {
			t.Errorf("at start: %v", vals)
		}
		expectCalls(t, h.k, "")                                                    // no daemon configured: none started
		h.reload(t, "lvs_sloppy_tcp\nlvs_sync_threshold 1 10\nlvs_sync_retries 2") // unchanged
		if _, writes := h.sys.state(); len(writes) != 0 {
			t.Errorf("unchanged reload wrote %v", writes)
		}
		h.reload(t, "lvs_sloppy_tcp off\nlvs_sync_refresh_period 30\nlvs_sync_persist_mode")
		// changed, added, and removed (restored to the value found at start)
		want = map[string]string{"sloppy_tcp": "0", "sync_threshold": "3 50", "sync_retries": "0",
			"sync_refresh_period": "30", "sloppy_sctp": "0", "sync_persist_mode": "1"}
		vals, writes := h.sys.state()
		if !maps.Equal(vals, want) {
			t.Errorf("after reload: %v", vals)
		}
		slices.Sort(writes)
		if got := strings.Join(writes, " "); got != "sloppy_tcp=0 sync_persist_mode=1 sync_refresh_period=30 sync_retries=0 sync_threshold=3 50" {
			t.Errorf("reload writes: %s", got)
		}
		h.stop()
	})
}

func TestSyncWarnings(t *testing.T) {
	nat := `
virtual_server 192.0.2.100 80 {
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 {
        weight 1
    }
}
`
	dr := strings.Replace(nat, "NAT", "DR", 1)
	mtus := func(m int) func(string) (int, bool) {
		return func(name string) (int, bool) { return m, name == "eth1" }
	}
	for _, tc := range []struct {
		name, global, extra string
		mtu                 int
		want                []string
	}{
		{"default group", "lvs_sync_daemon eth1 VI_1", dr, 1500, []string{"no group given", "239."}},
		{"group, DR, maxlen fits", "lvs_sync_daemon eth1 VI_1 group 239.0.0.81 maxlen 1472", dr, 1500, nil},
		{"maxlen too large", "lvs_sync_daemon eth1 VI_1 group 239.0.0.81 maxlen 1473", dr, 1500,
			[]string{"maxlen 1473 is larger than interface eth1's MTU 1500 minus the IPv4+UDP headers (1472)"}},
		{"maxlen too large, IPv6 group", "lvs_sync_daemon eth1 VI_1 group ff05::81 maxlen 1460", dr, 1500,
			[]string{"IPv6+UDP headers (1452)"}},
		{"small MTU without maxlen", "lvs_sync_daemon eth1 VI_1 group 239.0.0.81", dr, 1450,
			[]string{"MTU 1450 is below 1500", "maxlen 1422"}},
		{"interface absent here: no MTU warning", "lvs_sync_daemon eth9 VI_1 group 239.0.0.81 maxlen 9000", dr, 1500, nil},
		{"NAT", "lvs_sync_daemon eth1 VI_1 group 239.0.0.81", nat, 1500,
			[]string{"forwards to real server 10.0.0.1 by NAT", "conntrack"}},
		{"NAT without sync", "", nat, 1500, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConf(t, syncConf(tc.global)+tc.extra)
			p, ds := check(cfg, &Options{ifaceMTU: mtus(tc.mtu)})
			if p == nil {
				t.Fatalf("refused: %v", ds)
			}
			var got []string
			for _, d := range ds {
				if d.Severity != syntax.Warning || !strings.HasPrefix(d.Msg, "lvs_sync_daemon") {
					continue
				}
				if d.Pos.Line != 2 {
					t.Errorf("warning at %s, want the lvs_sync_daemon line: %s", d.Pos, d.Msg)
				}
				got = append(got, d.Msg)
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("unexpected warnings: %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(got, "\n"), w) {
					t.Errorf("no warning with %q in %q", w, got)
				}
			}
		})
	}
}

// TestDaemonRunsSyncDaemons: run starts the sync daemon of the
// lvs_sync_daemon instance's state (the fake VRRP runner reports MASTER),
// a SIGHUP reload with the same daemon touches nothing, one with another
// syncid restarts it, and the shutdown stops it.
func TestDaemonRunsSyncDaemons(t *testing.T) {
	global := "global_defs {\n    router_id lvs1\n    lvs_sync_daemon eth0 VI_1 group 239.0.0.81"
	src := strings.Replace(reloadSrc("100", "2", ""), "global_defs {\n    router_id lvs1", global, 1)
	synctest.Test(t, func(t *testing.T) {
		td := newTestDaemon(t, src, true, false)
		sk := &syncKernelFake{Kernel: td.kernel.Kernel}
		td.d.syncd.open = func() (syncKernel, error) { return sk, nil }
		td.start(t)
		td.notify.expect(t, "READY")
		time.Sleep(syncPollInterval)
		synctest.Wait()
		expectCalls(t, sk, "start master eth0 51")
		if err := os.WriteFile(td.file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.d.ReloadFile(t.Context(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		expectCalls(t, sk, "")
		if err := os.WriteFile(td.file, []byte(strings.Replace(src, "group 239.0.0.81", "group 239.0.0.81 id 7", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.d.ReloadFile(t.Context(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		expectCalls(t, sk, "stop master; start master eth0 7")
		td.stop()
		expectCalls(t, sk, "stop master")
		if r := sk.running(); r != "" {
			t.Errorf("running after stop: %q", r)
		}
	})
}

func TestSyncdStopOfAVanishedDaemonIsNoError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSyncd(t, "lvs_sync_daemon eth1 VI_1", vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth1 51")
		h.k.mu.Lock()
		h.k.vanish = true
		h.k.mu.Unlock()
		h.transition(vrrp.StateMaster)
		expectCalls(t, h.k, "stop backup; start master eth1 51")
		if strings.Contains(h.logs.String(), "apply failed") || !strings.Contains(h.logs.String(), "already gone") {
			t.Errorf("a stop that finds no daemon is not an error:\n%s", h.logs)
		}
		time.Sleep(ipvsRetryInterval)
		synctest.Wait()
		expectCalls(t, h.k, "") // nothing to retry
		h.stop()
		expectCalls(t, h.k, "stop master")
	})
}

// TestSyncdLegacyInterfaceKeyword: lvs_sync_daemon_interface in a
// vrrp_instance runs the daemons of that instance, syncid its VRID.
func TestSyncdLegacyInterfaceKeyword(t *testing.T) {
	src := strings.Replace(syncConf(""), "priority 100", "priority 100\n    lvs_sync_daemon_interface eth2", 1)
	synctest.Test(t, func(t *testing.T) {
		h := startSyncdSrc(t, src, vrrp.StateBackup, 0)
		expectCalls(t, h.k, "start backup eth2 51")
		h.transition(vrrp.StateMaster)
		expectCalls(t, h.k, "stop backup; start master eth2 51")
		h.stop()
		expectCalls(t, h.k, "stop master")
	})
}
