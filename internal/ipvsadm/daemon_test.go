package ipvsadm

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// The sync daemon commands in sequence on one kernel: exit codes and
// messages as ipvsadm 1.31's, which TestVMDaemonMatchesRealIpvsadm checks
// on the real one (including its "illegal start_daemon" for --stop-daemon).
func TestDaemonCommands(t *testing.T) {
	k := &ipvstest.Kernel{}
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--start-daemon", "foo"}, 2, "illegal start-daemon parameter specified\n"},
		{[]string{"--stop-daemon", "foo"}, 2, "illegal start_daemon specified\n"},
		{[]string{"--start-daemon"}, 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"},
		{[]string{"--start-daemon", "master", "--syncid", "256"}, 2, "illegal syncid specified\n"},
		{[]string{"--start-daemon", "master", "--mcast-group", "10.0.0.1"}, 2, "invalid IPv4 mcast-group `10.0.0.1'\n"},
		{[]string{"--start-daemon", "master", "--mcast-group", "::1"}, 2, "invalid IPv6 mcast-group `::1'\n"},
		{[]string{"--start-daemon", "master", "--mcast-port", "0"}, 2, "illegal mcast-port specified\n"},
		{[]string{"--start-daemon", "master", "--mcast-ttl", "256"}, 2, "illegal mcast-ttl specified\n"},
		{[]string{"--start-daemon", "master", "--sync-maxlen", "65508"}, 2, "illegal sync-maxlen specified\n"},
		{[]string{"--start-daemon", "master", "--syncid", "1", "--syncid", "2"}, 2, "multiple 'syncid' options specified\n"},
		{[]string{"--start-daemon", "master", "-n"}, 2, "Illegal 'numeric' option with the 'start-daemon' command\n"},
		{[]string{"--stop-daemon", "master", "--mcast-group", "239.1.1.1"}, 2, "Illegal 'mcast-group' option with the 'stop-daemon' command\n"},
		{[]string{"-L", "--daemon", "--stats"}, 2, "options conflicts in the list command\n"},
		{[]string{"-L", "--daemon", "--mcast-interface", "x"}, 2, "Illegal 'mcast-interface' option with the 'list' command\n"},
		{[]string{"--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "9", "--mcast-group", "ff02::1:81",
			"--mcast-port", "9000", "--mcast-ttl", "3", "--sync-maxlen", "1400"}, 0, ""},
		{[]string{"--start-daemon", "master", "--mcast-interface", "sync0"}, 255, "Daemon has already run\n"},
		{[]string{"--start-daemon", "backup"}, 0, ""}, // on eth0
		{[]string{"--stop-daemon", "master"}, 0, ""},
		{[]string{"--stop-daemon", "master"}, 255, "No daemon is running\n"},
	} {
		var stdout, stderr bytes.Buffer
		env := &Env{Kernel: k, Stdout: &stdout, Stderr: &stderr, Resolver: goldenResolver{}}
		code := env.Run(append([]string{"ipvsadm"}, c.args...))
		if code != c.code || stderr.String() != c.stderr || stdout.Len() != 0 {
			t.Errorf("ipvsadm %q: exit %d, stderr %q, stdout %q; want exit %d, stderr %q",
				c.args, code, stderr.String(), stdout.String(), c.code, c.stderr)
		}
		if len(c.args) > 2 && c.args[1] == "master" && code == 0 {
			ds, _ := k.SyncDaemons()
			want := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "sync0", SyncID: 9,
				McastGroup: netip.MustParseAddr("ff02::1:81"), McastPort: 9000, McastTTL: 3, MaxLen: 1400}
			if len(ds) != 1 || ds[0] != want {
				t.Errorf("started %+v, want %+v", ds, want)
			}
		}
	}
	if ds, _ := k.SyncDaemons(); len(ds) != 1 || ds[0].State != ipvs.SyncBackup || ds[0].Interface != "eth0" {
		t.Errorf("left running: %+v, want the backup on eth0 (ipvsadm's default interface)", ds)
	}
}
