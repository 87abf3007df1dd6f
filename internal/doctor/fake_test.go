package doctor

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

// fakeSystem is a [System] from plain values, for the checks that cannot be
// staged in a namespace on every kernel (ipip, ip_vs).
type fakeSystem struct {
	sysctls map[string]string
	addrs   map[string][]netip.Prefix
	ruleset string
	nftErr  error
	modules Modules
	rs      realserver.State
	legacy4 string
	legacy6 string
	routes  []DefaultRoute
}

var _ System = (*fakeSystem)(nil)

func (f *fakeSystem) Sysctl(key string) (string, error) {
	v, ok := f.sysctls[key]
	if !ok {
		return "", fmt.Errorf("sysctl %s: %w", key, os.ErrNotExist)
	}
	return v, nil
}
func (f *fakeSystem) Addrs() (map[string][]netip.Prefix, error)              { return f.addrs, nil }
func (f *fakeSystem) Ruleset() ([]byte, error)                               { return []byte(f.ruleset), f.nftErr }
func (f *fakeSystem) Modules() (Modules, error)                              { return f.modules, nil }
func (f *fakeSystem) RealServer(realserver.Config) (realserver.State, error) { return f.rs, nil }
func (f *fakeSystem) LegacyRules() (v4, v6 []byte, err error) {
	return []byte(f.legacy4), []byte(f.legacy6), nil
}
func (f *fakeSystem) DefaultRoutes() ([]DefaultRoute, error) { return f.routes, nil }
