package integration

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// TestDemo is `make demo`: a readable drill in a namespace lab. It runs only when
// LVSHA_DEMO=1 so that `make test` does not print it.
func TestDemo(t *testing.T) {
	if os.Getenv("LVSHA_DEMO") != "1" {
		t.Skip("the demo runs with `make demo` (LVSHA_DEMO=1)")
	}
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	bin := lvshaBin(t)
	example, err := filepath.Abs(filepath.Join("..", "examples", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}

	say("checking the shipped example configuration: %s", example)
	for _, id := range []string{"lvs1", "lvs2"} {
		out, err := execCombined(bin, "check-config", "-i", id, "-f", example)
		say("  lvs-ha check-config -i %s: %s", id, strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("check-config -i %s: %v", id, err)
		}
	}

	say("building the lab: a bridge switch with client, lvs1, lvs2, rs1, rs2 in their own namespaces")
	lab := netlab.New(t, netlab.Options{})
	nodes := map[string]*netlab.Node{}
	for _, name := range []string{"client", "lvs1", "lvs2", "rs1", "rs2"} {
		nodes[name] = lab.AddNode(name)
		say("  %-6s %s  %s", name, nodes[name].Addr4(), nodes[name].MAC())
	}

	procs := map[string]*netlab.Proc{}
	for _, name := range []string{"lvs1", "lvs2"} {
		procs[name] = nodes[name].Start(bin, "run", "-i", name, "-f", example)
		if err := procs[name].WaitLog("msg=running", 30*time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		say("  %s: lvs-ha run is up (log: %s)", name, procs[name].LogPath())
	}

	vip := netip.MustParseAddr("192.0.2.100")
	// owner is the one director holding the VIP ("" when none or both do).
	owner := func() string {
		var holders []string
		for _, name := range []string{"lvs1", "lvs2"} {
			if ok, _ := nodes[name].HasAddr(vip); ok {
				holders = append(holders, name)
			}
		}
		if len(holders) != 1 {
			return ""
		}
		return holders[0]
	}
	waitOwner := func(want string, limit time.Duration) time.Duration {
		t0 := time.Now()
		if err := until(limit, func() bool { return owner() == want }, "VIP on "+want); err != nil {
			t.Fatal(err)
		}
		return time.Since(t0)
	}

	say("election: lvs1 has priority 150, lvs2 100")
	waitOwner("lvs1", 15*time.Second)
	say("  lvs1 is MASTER and holds VIP %s", vip)
	touch(t, nodes["client"], vip)
	mac, _ := nodes["client"].Neigh(vip)
	say("  client's neighbour entry: %s is at %s (lvs1)", vip, mac)

	say("failover: killing lvs1's daemon with SIGKILL (no goodbye advert)")
	if err := procs["lvs1"].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The killed daemon cannot remove its VIP; the operator's view is the backup taking it.
	took := time.Now()
	if err := until(15*time.Second, func() bool { ok, _ := nodes["lvs2"].HasAddr(vip); return ok }, "VIP on lvs2"); err != nil {
		t.Fatal(err)
	}
	say("  lvs2 took over after %.2fs (3 x advert_int + skew = 3.61s)", time.Since(took).Seconds())
	if err := until(5*time.Second, func() bool {
		m, err := nodes["client"].Neigh(vip)
		return err == nil && m.String() == nodes["lvs2"].MAC().String()
	}, "client neighbour entry to move to lvs2"); err != nil {
		t.Fatal(err)
	}
	say("  gratuitous ARP: the client's entry for %s now points at %s (lvs2)", vip, nodes["lvs2"].MAC())
	say("  (the killed daemon could not remove its VIP; a restarted lvs-ha removes it before it listens)")
	say("preemption: lvs1 comes back")
	procs["lvs1"] = nodes["lvs1"].Start(bin, "run", "-i", "lvs1", "-f", example)
	if err := procs["lvs1"].WaitLog("msg=running", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d := waitOwner("lvs1", 15*time.Second)
	say("  lvs1 is MASTER again %.2fs after it started; lvs2 went back to BACKUP", d.Seconds())

	say("stopping both directors with SIGTERM")
	for _, name := range []string{"lvs1", "lvs2"} {
		if err := procs[name].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := procs[name].Wait(10 * time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		say("  %s exited 0", name)
	}
	say("demo done; the lab is torn down")
}

// execCombined runs bin with args on the host and returns its combined output.
func execCombined(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// touch makes the client resolve addr (a UDP datagram to the discard port), so
// that it has a neighbour entry to watch.
func touch(t *testing.T, client *netlab.Node, addr netip.Addr) {
	t.Helper()
	err := client.Do(func() error {
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
	if err := until(5*time.Second, func() bool { _, err := client.Neigh(addr); return err == nil }, "client neighbour entry"); err != nil {
		t.Fatal(err)
	}
}

// until polls cond until it holds or limit passes.
func until(limit time.Duration, cond func() bool, what string) error {
	return netlab.WaitFor(limit, func() (bool, error) { return cond(), nil }, func() string { return what })
}
