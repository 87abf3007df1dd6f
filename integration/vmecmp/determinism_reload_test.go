//go:build vm

package vmecmp

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// TestMHDeterminismReload: a director started with real servers {B, C} and
// reloaded (SIGHUP) to {A, B, C} has the same destination list (ipvsadm
// --nosort) and chooses the same real server for 1,000 SYNs as one started
// with {A, B, C} (issue #14). The kernel puts a new destination at the head of
// the list mh builds its table from: without Reconcile re-adding B and C after
// A, the lists are A, C, B and C, B, A and the directors disagreed on 16 of
// the 1,000 ({A, C} to {A, B, C} gives B, C, A: a different list, but the same
// table for these addresses). About 2 s in the VM.
func TestMHDeterminismReload(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	all := []string{rsAddrs[0], rsAddrs[1], rsAddrs[2]}
	lab := netlab.New(t, netlab.Options{Subnet4: lanNet})
	client, keys := synClient(lab)
	tmp := t.TempDir()
	start := func(i int, rs []string) (*netlab.Node, *netlab.Proc, string) {
		d := lab.AddNode(fmt.Sprintf("lvs%d", i+1), fmt.Sprintf("10.251.0.%d", 11+i))
		vmlab.AddAddr(t, d, "lo", vip32)
		conf := filepath.Join(tmp, d.Name()+".conf")
		if err := os.WriteFile(conf, []byte(mhConf(rs)), 0o644); err != nil {
			t.Fatal(err)
		}
		p := vmlab.Run(t, d, "msg=running", 60*time.Second, "-f", conf,
			"-pid-file", filepath.Join(tmp, d.Name()+".pid"), "-dump-file", filepath.Join(tmp, d.Name()+".dump"))
		return d, p, conf
	}
	reloaded, p, conf := start(0, []string{rsAddrs[1], rsAddrs[2]})
	fresh, _, _ := start(1, all)
	if err := os.WriteFile(conf, []byte(mhConf(all)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitLog("msg=reloaded", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	lr, lf := vmlab.Ipvsadm(t, reloaded, "-Ln", "--nosort"), vmlab.Ipvsadm(t, fresh, "-Ln", "--nosort")
	t.Logf("reloaded:\n%s\nfresh:\n%s", lr, lf)

	began := time.Now()
	differ, per := compareChoices(keys, synChoices(t, client, reloaded, keys), synChoices(t, client, fresh, keys))
	t.Logf("mh after reload {B, C} -> {A, B, C} vs fresh {A, B, C}, %d SYNs: disagree on %d, spread %v (%.1fs)",
		len(keys), differ, per, time.Since(began).Seconds())
	if differ != 0 {
		t.Errorf("reloaded and fresh directors chose different real servers for %d of %d flows", differ, len(keys))
	}
	if lr != lf {
		t.Errorf("destination list order differs:\nreloaded:\n%s\nfresh:\n%s", lr, lf)
	}
}
