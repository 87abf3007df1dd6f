package ipvsadm

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from this implementation (then verify them with make test-vm)")

// TestGoldenListings builds testdata/scenario.txt on the in-memory kernel and
// compares every listing with testdata/golden, files that the VM tier checks
// against the real ipvsadm 1.31 (TestVMGoldenFilesMatchRealIpvsadm).
func TestGoldenListings(t *testing.T) {
	k := &ipvstest.Kernel{}
	if err := k.SetTimeouts(vmDefaultTimeouts); err != nil {
		t.Fatal(err)
	}
	env := &Env{Kernel: k, Resolver: &SystemResolver{ServicesFile: "testdata/services"}}
	for _, line := range readScenario(t, "scenario.txt") {
		var stdout, stderr bytes.Buffer
		env.Stdout, env.Stderr = &stdout, &stderr
		if code := env.Run(append([]string{"ipvsadm"}, line...)); code != 0 {
			t.Fatalf("ipvsadm %q: exit %d, stderr %q", line, code, stderr.String())
		}
	}
	for _, l := range listings {
		t.Run(l.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env.Stdout, env.Stderr = &stdout, &stderr
			env.Resolver = goldenResolver{}
			if code := env.Run(append([]string{"ipvsadm"}, l.args...)); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			path := filepath.Join("testdata", "golden", l.name+".txt")
			if *update {
				if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("ipvsadm %q output differs from %s\n--- got\n%s--- want\n%s", l.args, path, stdout.String(), want)
			}
		})
	}
}

// TestGoldenDaemonListing lists the sync daemons as the kernel reports them
// (its defaults filled in) and compares with testdata/golden/L_daemon.txt,
// which the VM tier checks against the real ipvsadm 1.31
// (TestVMDaemonMatchesRealIpvsadm).
func TestGoldenDaemonListing(t *testing.T) {
	k := &ipvstest.Kernel{}
	for _, d := range []ipvs.SyncDaemon{ // backup first: the listing puts the master first
		{State: ipvs.SyncBackup, Interface: "ipvsadm0", SyncID: 3, MaxLen: 1452, McastGroup: netip.MustParseAddr("ff02::1:81"), McastPort: 8848, McastTTL: 1},
		{State: ipvs.SyncMaster, Interface: "ipvsadm0", SyncID: 4, MaxLen: 1200, McastGroup: netip.MustParseAddr("239.0.0.81"), McastPort: 9000, McastTTL: 2},
	} {
		if err := k.StartSyncDaemon(d); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", "golden", "L_daemon.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-L", "--daemon"}, {"-Ln", "--daemon"}, {"--list", "--daemon"}} {
		var stdout, stderr bytes.Buffer
		env := &Env{Kernel: k, Stdout: &stdout, Stderr: &stderr, Resolver: goldenResolver{}}
		if code := env.Run(append([]string{"ipvsadm"}, args...)); code != 0 || stderr.Len() != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
		if stdout.String() != string(want) {
			t.Errorf("ipvsadm %q:\n%s--- want\n%s", args, stdout.String(), want)
		}
	}
}
