//go:build vm

package vmdemo

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(netlab.Main(m))
}

var demo = flag.Bool("lvsha.demo", false, "run TestDemo, the `make demo` drill (it prints a timeline)")

var lvsha = vmlab.LvsHABin

const (
	// example is the shipped examples/keepalived-lab.conf (a checked copy).
	example = "testdata/keepalived-lab.conf"
	vip     = "192.0.2.100"
	service = "TCP " + vip + ":80"
)

// Lab addresses, as examples/keepalived-lab.conf expects them.
var labAddrs = []struct{ name, addr string }{
	{"client", "192.0.2.10"},
	{"lvs1", "192.0.2.1"},
	{"lvs2", "192.0.2.2"},
	{"rs1", "192.0.2.11"},
	{"rs2", "192.0.2.12"},
}

// TestDemo is `make demo`: the drill in a namespace lab, printed as a
// timeline on stdout. It runs inside the VM where the host kernel has no
// IP_VS, and on the host (LVSHA_BIN=lvs-ha binary) where it has.
func TestDemo(t *testing.T) {
	if !*demo {
		t.Skip("the demo runs with `make demo` (test flag -lvsha.demo)")
	}
	if !vmtest.InVM() {
		if os.Geteuid() != 0 {
			t.Fatal("the demo needs root (network namespaces, IPVS)")
		}
		if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
			t.Fatalf("this kernel has no IPVS (%v): run it in the VM tier (make demo)", err)
		}
	}
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	conf, err := filepath.Abs(example)
	if err != nil {
		t.Fatal(err)
	}

	say("checking the shipped example configuration examples/keepalived-lab.conf")
	for _, id := range []string{"lvs1", "lvs2"} {
		out, err := combined(lvsha, "check-config", "-i", id, "-f", conf)
		say("  lvs-ha check-config -i %s: %s", id, strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("check-config -i %s: %v", id, err)
		}
	}

	say("building the lab: a bridge switch with client, lvs1, lvs2, rs1, rs2 in their own namespaces")
	lab := netlab.New(t, netlab.Options{})
	nodes := map[string]*netlab.Node{}
	for _, a := range labAddrs {
		nodes[a.name] = lab.AddNode(a.name, a.addr)
		say("  %-6s %-11s %s", a.name, a.addr, nodes[a.name].MAC())
	}

	say("real servers: VIP %s on lo with ARP for it suppressed (lvs-ha realserver), an HTTP server answering its name", vip)
	servers := map[string]*vmlab.Server{}
	for _, name := range []string{"rs1", "rs2"} {
		if out, err := nodes[name].Command(lvsha, "realserver", vip).CombinedOutput(); err != nil {
			t.Fatalf("lvs-ha realserver %s in %s: %v\n%s", vip, name, err, out)
		}
		servers[name] = vmlab.Serve(t, nodes[name], 80)
	}

	tmp := t.TempDir()
	procs := map[string]*netlab.Proc{}
	startDaemon := func(name string) {
		t.Helper()
		procs[name] = vmlab.Run(t, nodes[name], "msg=running", 60*time.Second, "-i", name, "-f", conf,
			"-pid-file", filepath.Join(tmp, name+".pid"), "-dump-file", filepath.Join(tmp, name+".dump"))
	}
	for _, name := range []string{"lvs1", "lvs2"} {
		startDaemon(name)
		say("  %s: lvs-ha run -i %s is up (VRRP, IPVS, health checks, /metrics on 127.0.0.1:9650)", name, name)
	}

	vipAddr := netip.MustParseAddr(vip)
	has := func(name string) bool { ok, _ := nodes[name].HasAddr(vipAddr); return ok }
	owner := func() string {
		switch l1, l2 := has("lvs1"), has("lvs2"); {
		case l1 && !l2:
			return "lvs1"
		case l2 && !l1:
			return "lvs2"
		}
		return ""
	}
	wait := func(limit time.Duration, what string, cond func() bool) time.Duration {
		t.Helper()
		t0 := time.Now()
		if err := netlab.WaitFor(limit, func() (bool, error) { return cond(), nil }, func() string {
			return what + "\nlvs1 log:\n" + procs["lvs1"].LogTail(3000) + "\nlvs2 log:\n" + procs["lvs2"].LogTail(3000)
		}); err != nil {
			t.Fatal(err)
		}
		return time.Since(t0)
	}
	both := []string{"192.0.2.11:80 Route 1", "192.0.2.12:80 Route 1"}
	onlyRS2 := []string{"192.0.2.12:80 Route 1"}
	dests := func(name string) []string {
		return vmlab.List(t, nodes[name]).Map(vmlab.Service.Key, vmlab.Dest.Short)[service]
	}

	say("election: lvs1 has priority 150, lvs2 100")
	wait(30*time.Second, "VIP on lvs1 only", func() bool { return owner() == "lvs1" })
	say("  lvs1 is MASTER and holds VIP %s; lvs2 is BACKUP", vip)
	wait(30*time.Second, "both real servers in lvs1's IPVS table", func() bool { return slices.Equal(dests("lvs1"), both) })
	say("  ipvsadm -Ln on lvs1: %s rr -> %s", service, strings.Join(both, ", "))

	hc := nodes["client"].HTTPClient()
	requests := func(what string) {
		t.Helper()
		served := map[string]int{}
		for i := 0; i < 10; i++ {
			name, err := vmlab.Get(hc, "http://"+vip+"/", 80)
			if err != nil {
				t.Fatalf("request %d %s: %v\nlvs1 log:\n%s\nlvs2 log:\n%s", i+1, what, err, procs["lvs1"].LogTail(3000), procs["lvs2"].LogTail(3000))
			}
			served[name]++
		}
		say("  10 requests from the client to http://%s/ %s: rs1 answered %d, rs2 %d", vip, what, served["rs1"], served["rs2"])
	}
	requests("via lvs1")

	say("health check: stopping rs1's HTTP server")
	servers["rs1"].Stop()
	d := wait(30*time.Second, "rs1 ejected on lvs1", func() bool { return slices.Equal(dests("lvs1"), onlyRS2) })
	say("  rs1 ejected from lvs1's IPVS table after %.2fs (HTTP_GET, delay_loop 1, retry 1)", d.Seconds())
	for _, line := range metrics(t, nodes["lvs1"], `lvs_ha_healthcheck_up{checker="HTTP_GET",real_server="192.0.2.11:80"`) {
		say("  lvs1 /metrics: %s", line)
	}
	requests("with rs1 down")
	say("  rs1's HTTP server back")
	servers["rs1"].Start()
	d = wait(30*time.Second, "rs1 back on lvs1", func() bool { return slices.Equal(dests("lvs1"), both) })
	say("  rs1 re-added after %.2fs", d.Seconds())

	touch(t, nodes["client"], vipAddr)
	say("failover: killing lvs1's daemon with SIGKILL (no goodbye advert)")
	if err := procs["lvs1"].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d = wait(30*time.Second, "VIP on lvs2", func() bool { return has("lvs2") })
	say("  failover: lvs2 took over the VIP %.2fs after the kill", d.Seconds())
	say("  (lvs2 waits master_down_interval = 3 x advert_int + skew = 3.61s from lvs1's last advert)")
	lvs2MAC := nodes["lvs2"].MAC().String()
	wait(10*time.Second, "client neighbour entry to move to lvs2", func() bool {
		m, err := nodes["client"].Neigh(vipAddr)
		return err == nil && m.String() == lvs2MAC
	})
	say("  gratuitous ARP: the client's entry for %s now points at %s (lvs2)", vip, lvs2MAC)
	wait(30*time.Second, "both real servers in lvs2's IPVS table", func() bool { return slices.Equal(dests("lvs2"), both) })
	requests("via lvs2")

	say("preemption: lvs1 comes back")
	t0 := time.Now()
	startDaemon("lvs1")
	wait(30*time.Second, "VIP on lvs1 only", func() bool { return owner() == "lvs1" })
	say("  lvs1 is MASTER again %.2fs after it was started; lvs2 went back to BACKUP", time.Since(t0).Seconds())
	wait(10*time.Second, "client neighbour entry to move to lvs1", func() bool {
		m, err := nodes["client"].Neigh(vipAddr)
		return err == nil && m.String() == nodes["lvs1"].MAC().String()
	})
	requests("via lvs1 again")

	say("metrics excerpt: http://127.0.0.1:9650/metrics in lvs1's and lvs2's namespaces")
	for _, name := range []string{"lvs1", "lvs2"} {
		lines := metrics(t, nodes[name], "keepalived_vrrp_state{", "node_ipvs_backend_weight{", "lvs_ha_healthcheck_up{")
		for _, line := range lines {
			note := ""
			if strings.HasPrefix(line, "keepalived_vrrp_state{") {
				note = map[string]string{"0": "  (INIT)", "1": "  (BACKUP)", "2": "  (MASTER)", "3": "  (FAULT)"}[line[strings.LastIndex(line, " ")+1:]]
			}
			say("  %s: %s%s", name, line, note)
		}
	}

	say("stopping both directors with SIGTERM")
	for _, name := range []string{"lvs1", "lvs2"} {
		if err := procs[name].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := procs[name].Wait(20 * time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		say("  %s exited 0", name)
	}
	say("demo done; the lab is torn down")
}

// metrics fetches http://127.0.0.1:9650/metrics in node n and returns the
// lines starting with one of prefixes; it fails the test when there are none.
func metrics(t *testing.T, n *netlab.Node, prefixes ...string) []string {
	t.Helper()
	var body string
	err := netlab.WaitFor(10*time.Second, func() (bool, error) {
		b, err := vmlab.Fetch(n.HTTPClient(), "http://127.0.0.1:9650/metrics")
		body = b
		return err == nil, nil
	}, func() string { return n.Name() + " /metrics" })
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s /metrics has no line starting with %q:\n%s", n.Name(), prefixes, body)
	}
	return out
}

// combined runs bin with args and returns its combined output.
func combined(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// touch makes the client resolve addr (a UDP datagram to the discard port),
// so that it has a neighbour entry to watch.
func touch(t *testing.T, n *netlab.Node, addr netip.Addr) {
	t.Helper()
	err := n.Do(func() error {
		c, err := net.Dial("udp", netip.AddrPortFrom(addr, 9).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("demo"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := netlab.WaitFor(5*time.Second, func() (bool, error) { _, err := n.Neigh(addr); return err == nil, nil }, nil); err != nil {
		t.Fatal(err)
	}
}
