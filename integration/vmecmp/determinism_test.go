//go:build vm

package vmecmp

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// mhConf is a director's keepalived.conf: the VIP's virtual server with lb_algo
// mh (port hashed too) and the real servers in the given order, no checkers.
func mhConf(order []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual_server %s %d {\n    lb_algo mh\n    mh-port\n    lb_kind DR\n    protocol TCP\n", vip, svcPort)
	for _, rs := range order {
		fmt.Fprintf(&b, "    real_server %s %d {\n        weight 1\n    }\n", rs, svcPort)
	}
	b.WriteString("}\n")
	return b.String()
}

// TestMHDeterminism: two lvs-ha directors configured with the real servers in
// different orders choose the same real server for 1,000 SYNs; the kernel fed
// the same two orders by ipvsadm does not (doc.go). About 3 s in the VM.
func TestMHDeterminism(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	orders := [][]string{
		{rsAddrs[2], rsAddrs[0], rsAddrs[1]},
		{rsAddrs[1], rsAddrs[2], rsAddrs[0]},
	}
	lab := netlab.New(t, netlab.Options{Subnet4: lanNet})
	client, keys := synClient(lab)
	tmp := t.TempDir()
	var lvs, ctl []*netlab.Node
	for i, order := range orders {
		// lvs-ha directors
		d := lab.AddNode(fmt.Sprintf("lvs%d", i+1), fmt.Sprintf("10.251.0.%d", 11+i))
		vmlab.AddAddr(t, d, "lo", vip32)
		conf := filepath.Join(tmp, d.Name()+".conf")
		if err := os.WriteFile(conf, []byte(mhConf(order)), 0o644); err != nil {
			t.Fatal(err)
		}
		vmlab.Run(t, d, "msg=running", 60*time.Second, "-f", conf,
			"-pid-file", filepath.Join(tmp, d.Name()+".pid"), "-dump-file", filepath.Join(tmp, d.Name()+".dump"))
		lvs = append(lvs, d)
		// controls: the same order straight into the kernel
		c := lab.AddNode(fmt.Sprintf("ctl%d", i+1), fmt.Sprintf("10.251.0.%d", 31+i))
		vmlab.AddAddr(t, c, "lo", vip32)
		svc := fmt.Sprintf("%s:%d", vip, svcPort)
		vmlab.Ipvsadm(t, c, "-A", "-t", svc, "-s", "mh", "-b", "mh-port")
		for _, rs := range order {
			vmlab.Ipvsadm(t, c, "-a", "-t", svc, "-r", fmt.Sprintf("%s:%d", rs, svcPort), "-g", "-w", "1")
		}
		ctl = append(ctl, c)
	}
	for _, d := range lvs {
		t.Logf("%s:\n%s", d.Name(), vmlab.Ipvsadm(t, d, "-Ln"))
	}

	choices := func(d *netlab.Node) map[connKey]netip.Addr { return synChoices(t, client, d, keys) }
	start := time.Now()
	l1, l2 := choices(lvs[0]), choices(lvs[1])
	c1, c2 := choices(ctl[0]), choices(ctl[1])
	lvsDiff, per := compareChoices(keys, l1, l2)
	ctlDiff, _ := compareChoices(keys, c1, c2)
	t.Logf("mh determinism, %d SYNs from 16 addresses: lvs-ha directors (config orders %v / %v) disagree on %d, spread %v; ipvsadm in the same orders disagree on %d (%.1fs)",
		len(keys), orders[0], orders[1], lvsDiff, per, ctlDiff, time.Since(start).Seconds())
	if lvsDiff != 0 {
		t.Errorf("lvs-ha directors chose different real servers for %d of %d flows", lvsDiff, len(keys))
	}
	if ctlDiff == 0 {
		t.Errorf("control: ipvsadm in different orders agreed on every flow; the test no longer shows that order matters")
	}
}
