//go:build vm

package ipvsadm

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// syncLink adds a dummy interface ipvsadm0 (10.98.0.1/24, up) for the sync
// daemons, and deletes it at cleanup.
func syncLink(t *testing.T) {
	t.Helper()
	l := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "ipvsadm0"}}
	if err := netlink.LinkAdd(l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(l) })
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 98, 0, 1), Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // whatever a failed step left running
		runReal(t, "", "--stop-daemon", "master")
		runReal(t, "", "--stop-daemon", "backup")
	})
}

// TestVMDaemonMatchesRealIpvsadm compares --start-daemon, --stop-daemon and
// -L --daemon with the real ipvsadm 1.31 (stdout, stderr, exit code), each
// daemon started by one tool and listed and stopped by the other.
func TestVMDaemonMatchesRealIpvsadm(t *testing.T) {
	vmtest.Require(t)
	syncLink(t)
	same := func(args ...string) result {
		t.Helper()
		real := runReal(t, "", args...)
		ours := runOurs(t, "", args...)
		if real != ours {
			t.Errorf("ipvsadm %q differs\n--- real: exit %d, stderr %q, stdout %q\n--- ours: exit %d, stderr %q, stdout %q",
				args, real.code, real.stderr, real.stdout, ours.code, ours.stderr, ours.stdout)
		}
		return real
	}
	stopAll := func() {
		runReal(t, "", "--stop-daemon", "master")
		runReal(t, "", "--stop-daemon", "backup")
	}
	run := map[string]func(*testing.T, string, ...string) result{"real": runReal, "ours": runOurs}
	for _, c := range []struct {
		name          string
		starter, stop string // the tool that starts, the one that stops
		start         []string
		list          string // -L --daemon while it runs
	}{
		{"master defaults", "real", "ours", []string{"--start-daemon", "master", "--mcast-interface", "ipvsadm0"},
			"master sync daemon (mcast=ipvsadm0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"},
		{"backup defaults", "ours", "real", []string{"--start-daemon", "backup", "--mcast-interface", "ipvsadm0"},
			"backup sync daemon (mcast=ipvsadm0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"},
		{"master options", "ours", "real", []string{"--start-daemon=master", "--mcast-interface=ipvsadm0", "--syncid=255",
			"--sync-maxlen=1400", "--mcast-group=239.1.2.3", "--mcast-port=9000", "--mcast-ttl=5"},
			"master sync daemon (mcast=ipvsadm0, syncid=255, maxlen=1400, group=239.1.2.3, port=9000, ttl=5)\n"},
		{"backup IPv6 group", "real", "ours", []string{"--start-daemon", "backup", "--mcast-interface", "ipvsadm0", "--syncid", "7",
			"--mcast-group", "ff02::1:81", "--mcast-port", "65535", "--mcast-ttl", "255", "--sync-maxlen", "100"},
			"backup sync daemon (mcast=ipvsadm0, syncid=7, maxlen=1024, group=ff02::1:81, port=65535, ttl=255)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := run[c.starter](t, "", c.start...); r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Fatalf("%s %q: %+v", c.starter, c.start, r)
			}
			if r := same("-L", "--daemon"); r.stdout != c.list {
				t.Errorf("-L --daemon: %q, want %q", r.stdout, c.list)
			}
			same("--list", "--daemon", "-n")
			same(c.start...) // "Daemon has already run"
			state := c.start[1]
			if c.start[0] != "--start-daemon" {
				state = c.start[0][len("--start-daemon="):]
			}
			if r := run[c.stop](t, "", "--stop-daemon", state); r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Fatalf("%s --stop-daemon %s: %+v", c.stop, state, r)
			}
			same("--stop-daemon", state) // "No daemon is running"
			if r := same("-L", "--daemon"); r.stdout != "" {
				t.Errorf("-L --daemon after stop: %q", r.stdout)
			}
		})
	}
	// Both at once, listed master first whichever started first: the
	// daemons of testdata/golden/L_daemon.txt (TestGoldenDaemonListing).
	for _, r := range []result{
		runOurs(t, "", "--start-daemon", "backup", "--mcast-interface", "ipvsadm0", "--syncid", "3", "--mcast-group", "ff02::1:81"),
		runReal(t, "", "--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid", "4", "--mcast-port", "9000",
			"--mcast-ttl", "2", "--sync-maxlen", "1200", "--mcast-group", "239.0.0.81"),
	} {
		if r.code != 0 {
			t.Fatalf("start: %+v", r)
		}
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "L_daemon.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-L", "--daemon"}, {"-Ln", "--daemon"}} {
		if r := same(args...); r.stdout != string(golden) {
			t.Errorf("testdata/golden/L_daemon.txt is not the real ipvsadm's %q; real output:\n%q", args, r.stdout)
		}
	}
	runOurs(t, "", "--stop-daemon", "master")
	runReal(t, "", "--stop-daemon", "backup")

	// Option and command errors.
	for _, args := range [][]string{
		{"--start-daemon", "master"}, // eth0 by default: no such device
		{"--start-daemon", "master", "--mcast-interface", "nosuch0"},
		{"--start-daemon", "foo"}, {"--stop-daemon", "foo"}, {"--start-daemon"}, {"--stop-daemon"},
		{"--start-daemon", "Master", "--mcast-interface", "ipvsadm0"},
		{"--start-daemon", "master", "--mcast-interface", "averyveryverylonginterfacename"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid", "256"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid", "-1"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid", "x"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-group", "10.0.0.1"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-group", "::1"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-group", "ff02::1%lo"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-group", "239.1.1"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-group", "foo"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-port", "0"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-port", "65536"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-ttl", "0"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-ttl", "256"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--sync-maxlen", "0"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--sync-maxlen", "65508"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--mcast-interface", "ipvsadm0"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--syncid", "1", "--syncid", "2"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "-n"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--daemon"},
		{"--start-daemon", "master", "--stop-daemon", "master"},
		{"--start-daemon", "master", "-L"},
		{"--stop-daemon", "master", "--mcast-interface", "ipvsadm0"},
		{"--stop-daemon", "backup", "--syncid", "4"},
		{"--stop-daemon", "master", "--mcast-group", "239.1.1.1"},
		{"-L", "--daemon", "--stats"}, {"-L", "--daemon", "--rate"}, {"-L", "--daemon", "--timeout"},
		{"-L", "--daemon", "--persistent-conn"}, {"-L", "--daemon", "-c"}, {"-L", "--daemon", "--exact"},
		{"-L", "--daemon", "--mcast-interface", "ipvsadm0"}, {"-L", "--daemon", "--syncid", "1"},
		{"-L", "--daemon", "-t", "10.0.0.1:80"}, {"--daemon"}, {"-A", "--daemon"}, {"-Z", "--daemon"},
		{"--mcast-interface", "ipvsadm0"}, {"--syncid", "3"}, {"-L", "--mcast-group", "239.1.1.1"},
		{"--start-daemon", "master", "--mcast-interface", "ipvsadm0", "--sync-maxlen", "65507", "--mcast-group", "ff02::1"},
	} {
		// Each tool from the same state: a command line that starts a
		// daemon would find it running for the second tool.
		real := runReal(t, "", args...)
		if real.code == 0 {
			stopAll()
		}
		ours := runOurs(t, "", args...)
		if ours.code == 0 {
			stopAll()
		}
		if real != ours {
			t.Errorf("ipvsadm %q differs\n--- real: exit %d, stderr %q, stdout %q\n--- ours: exit %d, stderr %q, stdout %q",
				args, real.code, real.stderr, real.stdout, ours.code, ours.stderr, ours.stdout)
		}
	}
}
