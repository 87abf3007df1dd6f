//go:build vm

package vmecmp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// synClient adds the determinism tests' client, with 16 source addresses,
// and the 1,000 flows they send from it (source address and port).
func synClient(lab *netlab.Lab) (*netlab.Node, []connKey) {
	var caddrs []string
	for i := range 16 {
		caddrs = append(caddrs, fmt.Sprintf("10.251.0.%d", 100+i))
	}
	client := lab.AddNode("client", caddrs...)
	var keys []connKey
	for i := range 1000 {
		keys = append(keys, connKey{netip.MustParseAddr(caddrs[i%16]), uint16(20000 + i/16)})
	}
	return client, keys
}

// synChoices routes the VIP through director d, sends one SYN per flow of
// keys and returns the real server d's IPVS chose for each (ip_vs_conn).
func synChoices(t *testing.T, client, d *netlab.Node, keys []connKey) map[connKey]netip.Addr {
	t.Helper()
	routeVIP(t, client, d.Addr4())
	closeAll, err := sendSYNs(client, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var got map[connKey]netip.Addr
	err = netlab.WaitFor(10*time.Second, func() (bool, error) {
		got, err = ipvsConns(d)
		return len(got) >= len(keys), err
	}, func() string {
		return fmt.Sprintf("%d connections in %s's ip_vs_conn (have %d)", len(keys), d.Name(), len(got))
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// compareChoices counts the flows of keys on which two directors' choices
// differ, and how a's choices spread over the real servers.
func compareChoices(keys []connKey, a, b map[connKey]netip.Addr) (differ int, per map[netip.Addr]int) {
	per = map[netip.Addr]int{}
	for _, k := range keys {
		per[a[k]]++
		if a[k] != b[k] {
			differ++
		}
	}
	return differ, per
}
