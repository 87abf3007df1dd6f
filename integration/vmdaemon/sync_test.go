//go:build vm

package vmdaemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// syncConf is a director alone on its link: VI_1 starts in BACKUP and
// becomes MASTER when its master down timer expires (about 3.6 s).
func syncConf(iface string) string {
	return fmt.Sprintf(`
global_defs {
    router_id vmsync
    lvs_sync_daemon %[1]s VI_1 group 239.0.0.81
    lvs_sync_retries 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface %[1]s
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/32 dev %[1]s
    }
}
`, iface)
}

// TestSyncDaemonFollowsVRRP runs the real `lvs-ha run` with
// `lvs_sync_daemon eth0 VI_1`: the backup sync daemon runs while VI_1 is
// BACKUP, the master daemon (alone) once it is MASTER, Debian's
// `ipvsadm -L --daemon` shows it, and SIGTERM stops it.
func TestSyncDaemonFollowsVRRP(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	k, err := ipvs.NewNetlinkAt(dir.NSPath())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(file, []byte(syncConf(dir.IfName())), 0o644); err != nil {
		t.Fatal(err)
	}
	d := vmlab.Run(t, dir, "msg=running", 60*time.Second, "-f", file, "-pid-file", filepath.Join(tmp, "pid"), "-status-addr", "off")
	daemons := func() string {
		ds, err := k.SyncDaemons()
		if err != nil {
			t.Fatalf("SyncDaemons: %v", err)
		}
		var s []string
		for _, x := range ds {
			s = append(s, fmt.Sprintf("%s %s syncid=%d group=%s", x.State, x.Interface, x.SyncID, x.McastGroup))
		}
		return strings.Join(s, ", ")
	}
	wantBackup := "backup " + dir.IfName() + " syncid=51 group=239.0.0.81"
	wantMaster := "master " + dir.IfName() + " syncid=51 group=239.0.0.81"
	var got string
	sawBackup := false
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		got = daemons()
		sawBackup = sawBackup || got == wantBackup
		// The log line follows the kernel's answer.
		return got == wantMaster && strings.Contains(d.Log(), `msg="ipvs sync daemon started" state=master`), nil
	}, func() string { return "master daemon only: kernel lists " + got + "\nlog:\n" + d.Log() }); err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel listed %q before VI_1 became MASTER: %v", wantBackup, sawBackup)
	log := d.Log()
	iBackup := strings.Index(log, `msg="ipvs sync daemon started" state=backup`)
	iMaster := strings.Index(log, "to=MASTER")
	iStopB := strings.Index(log, `msg="ipvs sync daemon stopped" state=backup`)
	iStartM := strings.Index(log, `msg="ipvs sync daemon started" state=master`)
	if iBackup < 0 || iMaster < iBackup || iStopB < iMaster || iStartM < iStopB {
		t.Errorf("want: backup daemon started, VI_1 to MASTER, backup stopped, master started; log:\n%s", log)
	}
	// Seen by Debian's ipvsadm too.
	out, err := dir.Command(vmlab.IpvsadmBin, "-L", "--daemon").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "master sync daemon (mcast="+dir.IfName()+", syncid=51") {
		t.Errorf("ipvsadm -L --daemon: %v\n%s", err, out)
	}
	t.Logf("ipvsadm -L --daemon: %s", strings.TrimSpace(string(out)))
	if got := strings.TrimSpace(readSysctl(t, dir, "sync_retries")); got != "1" {
		t.Errorf("net.ipv4.vs.sync_retries = %q, want 1", got)
	}
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(30 * time.Second); err != nil {
		t.Fatalf("lvs-ha after SIGTERM: %v\n%s", err, d.Log())
	}
	if got := daemons(); got != "" {
		t.Errorf("after SIGTERM the kernel still runs: %s\nlog:\n%s", got, d.Log())
	}
	if !strings.Contains(d.Log(), `msg="ipvs sync daemon stopped" state=master`) {
		t.Errorf("no stop logged:\n%s", d.Log())
	}
}

// readSysctl reads net.ipv4.vs.name in node n.
func readSysctl(t *testing.T, n *netlab.Node, name string) string {
	t.Helper()
	var v []byte
	err := n.Do(func() (err error) {
		v, err = os.ReadFile("/proc/sys/net/ipv4/vs/" + name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// TestSyncDaemonAdoptedSurvivesSIGTERM: a backup sync daemon already
// running as configured (here started by hand) is adopted: lvs-ha starts
// only the master daemon of `lvs_sync_daemon eth0 id 51` (no instance: both
// roles) and SIGTERM stops only that one.
func TestSyncDaemonAdoptedSurvivesSIGTERM(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	k, err := ipvs.NewNetlinkAt(dir.NSPath())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.StartSyncDaemon(ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: dir.IfName(), SyncID: 51,
		McastGroup: netip.MustParseAddr("239.0.0.81")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.StopSyncDaemon(ipvs.SyncBackup) })
	src := strings.Replace(syncConf(dir.IfName()), "lvs_sync_daemon "+dir.IfName()+" VI_1", "lvs_sync_daemon "+dir.IfName()+" id 51", 1)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d := vmlab.Run(t, dir, "msg=running", 60*time.Second, "-f", file, "-pid-file", filepath.Join(tmp, "pid"), "-status-addr", "off")
	roles := func() string {
		ds, err := k.SyncDaemons()
		if err != nil {
			t.Fatalf("SyncDaemons: %v", err)
		}
		var s []string
		for _, x := range ds {
			s = append(s, x.State.String())
		}
		return strings.Join(s, ",")
	}
	var got string
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		got = roles()
		return strings.Contains(d.Log(), `msg="ipvs sync daemon started" state=master`) && got == "master,backup", nil
	}, func() string { return "master started, backup adopted: kernel runs " + got + "\nlog:\n" + d.Log() }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Log(), "state=backup") {
		t.Errorf("the adopted backup daemon was touched:\n%s", d.Log())
	}
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(30 * time.Second); err != nil {
		t.Fatalf("lvs-ha after SIGTERM: %v\n%s", err, d.Log())
	}
	if got := roles(); got != "backup" {
		t.Errorf("after SIGTERM the kernel runs %q, want the adopted backup daemon only\nlog:\n%s", got, d.Log())
	}
}
