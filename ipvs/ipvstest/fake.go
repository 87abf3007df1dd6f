// Package ipvstest provides an in-memory ipvs.Kernel for tests: it mimics
// the kernel's behaviour (errors, forced destination ports, hashed flag,
// destination list order of order-sensitive schedulers) and counts the
// calls made to it. Table lists the services sorted, and the destinations
// sorted too except for mh, sh and dh services, which come in the kernel's
// list order (newest first).
package ipvstest

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// Calls counts the mutating calls made to a Kernel.
type Calls struct {
	NewService, UpdateService, DelService, Flush int
	NewDest, UpdateDest, DelDest                 int
	Zero, SetTimeouts                            int
}

// Total is the number of mutating calls.
func (c Calls) Total() int {
	return c.NewService + c.UpdateService + c.DelService + c.Flush +
		c.NewDest + c.UpdateDest + c.DelDest + c.Zero + c.SetTimeouts
}

// Kernel is an in-memory ipvs.Kernel. The zero value is empty and ready.
type Kernel struct {
	mu       sync.Mutex
	table    ipvs.Table
	timeouts ipvs.Timeouts
	daemons  []ipvs.SyncDaemon
	// Conns is returned by Connections.
	Conns []ipvs.Connection
	// FailOn, if set, makes a call fail when it returns a non-nil error;
	// op is e.g. "NewService", obj the service key or destination.
	FailOn func(op string, k ipvs.ServiceKey, d *ipvs.Destination) error

	calls Calls
	// idx indexes table.Services by key (nil: rebuild at the next lookup),
	// so that large tables (10,000 services) cost no quadratic lookups.
	idx map[ipvs.ServiceKey]int
}

// service returns the service with key, or nil; k.mu is held.
func (k *Kernel) service(key ipvs.ServiceKey) *ipvs.Service {
	if k.idx == nil {
		k.idx = make(map[ipvs.ServiceKey]int, len(k.table.Services))
		for i := range k.table.Services {
			k.idx[k.table.Services[i].Key] = i
		}
	}
	i, ok := k.idx[key]
	if !ok {
		return nil
	}
	return &k.table.Services[i]
}

var _ ipvs.Kernel = (*Kernel)(nil)

// Calls returns the call counters.
func (k *Kernel) Calls() Calls {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// ResetCalls zeroes the call counters.
func (k *Kernel) ResetCalls() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = Calls{}
}

// SetStats sets the stats of a destination (or of the service if d is
// invalid), for tests of stats output.
func (k *Kernel) SetStats(key ipvs.ServiceKey, d netip.AddrPort, st ipvs.DestStats) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.service(key)
	if s == nil {
		return syscall.ESRCH
	}
	if !d.IsValid() {
		s.Stats = &st.Stats
		return nil
	}
	dd := s.Destination(d.Addr(), d.Port())
	if dd == nil {
		return syscall.ENOENT
	}
	dd.Stats = &st
	return nil
}

func (k *Kernel) fail(op string, key ipvs.ServiceKey, d *ipvs.Destination) error {
	if k.FailOn == nil {
		return nil
	}
	return k.FailOn(op, key, d)
}

func (k *Kernel) Info() (ipvs.Info, error) {
	return ipvs.Info{Version: 0x010201, ConnTableSize: 4096}, nil
}

func (k *Kernel) Table() (ipvs.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("Table", ipvs.ServiceKey{}, nil); err != nil {
		return ipvs.Table{}, err
	}
	t := ipvs.Table{Services: make([]ipvs.Service, len(k.table.Services))}
	for i, s := range k.table.Services {
		// Counters are copied, so that the caller's table does not
		// change with the fake's; none (nil, as in a desired table) until
		// SetStats.
		if s.Stats != nil {
			st := *s.Stats
			s.Stats = &st
		}
		s.Destinations = append([]ipvs.Destination(nil), s.Destinations...)
		for j := range s.Destinations {
			if d := &s.Destinations[j]; d.Stats != nil {
				ds := *d.Stats
				d.Stats = &ds
			}
		}
		t.Services[i] = s
	}
	slices.SortFunc(t.Services, func(a, b ipvs.Service) int { return a.Key.Compare(b.Key) })
	for i := range t.Services {
		s := &t.Services[i]
		if ipvs.OrderSensitive(s.Scheduler) {
			// The kernel's list order: it adds at the head (the fake
			// appends, so that an addition costs O(1)) and dumps from it.
			slices.Reverse(s.Destinations)
			continue
		}
		slices.SortFunc(s.Destinations, func(a, b ipvs.Destination) int {
			return a.AddrPort().Compare(b.AddrPort())
		})
	}
	return t, nil
}

func kernelForm(s ipvs.Service) ipvs.Service {
	s.Scheduler = s.SchedulerName()
	s.Netmask = uint8(s.NetmaskBits())
	s.Flags |= ipvs.FlagHashed
	s.Stats = nil
	return s
}

func (k *Kernel) NewService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("NewService", s.Key, nil); err != nil {
		return err
	}
	if err := s.Key.Validate(); err != nil {
		return fmt.Errorf("%w: %v", syscall.EINVAL, err)
	}
	if k.service(s.Key) != nil {
		return syscall.EEXIST
	}
	k.calls.NewService++
	s = kernelForm(s)
	s.Destinations = nil
	k.table.Services = append(k.table.Services, s)
	if k.idx != nil {
		k.idx[s.Key] = len(k.table.Services) - 1
	}
	return nil
}

func (k *Kernel) UpdateService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("UpdateService", s.Key, nil); err != nil {
		return err
	}
	cur := k.service(s.Key)
	if cur == nil {
		return syscall.ESRCH
	}
	k.calls.UpdateService++
	dests, stats := cur.Destinations, cur.Stats
	*cur = kernelForm(s)
	cur.Destinations, cur.Stats = dests, stats
	return nil
}

func (k *Kernel) DelService(key ipvs.ServiceKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("DelService", key, nil); err != nil {
		return err
	}
	for i := range k.table.Services {
		if k.table.Services[i].Key == key {
			k.calls.DelService++
			k.table.Services = append(k.table.Services[:i], k.table.Services[i+1:]...)
			k.idx = nil
			return nil
		}
	}
	return syscall.ESRCH
}

func (k *Kernel) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls.Flush++
	k.table.Services, k.idx = nil, nil
	return nil
}

func (k *Kernel) destLookup(key ipvs.ServiceKey, d *ipvs.Destination) (*ipvs.Service, int, error) {
	s := k.service(key)
	if s == nil {
		return nil, -1, syscall.ESRCH
	}
	if !key.IsFWMark() && d.Method != ipvs.Masq {
		d.Port = key.Port
	}
	for i := range s.Destinations {
		if s.Destinations[i].Addr == d.Addr && s.Destinations[i].Port == d.Port {
			return s, i, nil
		}
	}
	return s, -1, nil
}

func (k *Kernel) NewDestination(key ipvs.ServiceKey, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("NewDestination", key, &d); err != nil {
		return err
	}
	s, i, err := k.destLookup(key, &d)
	if err != nil {
		return err
	}
	if i >= 0 {
		return syscall.EEXIST
	}
	k.calls.NewDest++
	d.Stats = nil
	s.Destinations = append(s.Destinations, d)
	return nil
}

func (k *Kernel) UpdateDestination(key ipvs.ServiceKey, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("UpdateDestination", key, &d); err != nil {
		return err
	}
	s, i, err := k.destLookup(key, &d)
	if err != nil {
		return err
	}
	if i < 0 {
		return syscall.ENOENT
	}
	k.calls.UpdateDest++
	d.Stats = s.Destinations[i].Stats
	s.Destinations[i] = d
	return nil
}

func (k *Kernel) DelDestination(key ipvs.ServiceKey, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fail("DelDestination", key, &d); err != nil {
		return err
	}
	s := k.service(key)
	if s == nil {
		return syscall.ESRCH
	}
	for i := range s.Destinations {
		if s.Destinations[i].Addr == d.Addr && s.Destinations[i].Port == d.Port {
			k.calls.DelDest++
			s.Destinations = append(s.Destinations[:i], s.Destinations[i+1:]...)
			return nil
		}
	}
	return syscall.ENOENT
}

func (k *Kernel) Zero(key ipvs.ServiceKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.service(key)
	if s == nil {
		return syscall.ESRCH
	}
	k.calls.Zero++
	zero(s)
	return nil
}

func zero(s *ipvs.Service) {
	s.Stats = nil
	for i := range s.Destinations {
		if d := &s.Destinations[i]; d.Stats != nil {
			st := *d.Stats // a copy: a table read earlier keeps its counters
			st.Stats = ipvs.Stats{}
			d.Stats = &st
		}
	}
}

func (k *Kernel) ZeroAll() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls.Zero++
	for i := range k.table.Services {
		zero(&k.table.Services[i])
	}
	return nil
}

func (k *Kernel) Timeouts() (ipvs.Timeouts, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.timeouts
	if t == (ipvs.Timeouts{}) {
		t = ipvs.Timeouts{TCP: 900e9, TCPFin: 120e9, UDP: 300e9}
	}
	return t, nil
}

func (k *Kernel) SetTimeouts(t ipvs.Timeouts) error {
	cur, _ := k.Timeouts()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls.SetTimeouts++
	if t.TCP > 0 {
		cur.TCP = t.TCP
	}
	if t.TCPFin > 0 {
		cur.TCPFin = t.TCPFin
	}
	if t.UDP > 0 {
		cur.UDP = t.UDP
	}
	k.timeouts = cur
	return nil
}

func (k *Kernel) Connections() ([]ipvs.Connection, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]ipvs.Connection(nil), k.Conns...), nil
}

func (k *Kernel) SyncDaemons() ([]ipvs.SyncDaemon, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]ipvs.SyncDaemon(nil), k.daemons...), nil
}

func (k *Kernel) StartSyncDaemon(d ipvs.SyncDaemon) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, x := range k.daemons {
		if x.State == d.State { // as the kernel's: errors.Is(err, ipvs.ErrSyncDaemonRunning)
			return &ipvs.OpError{Op: "NEW_DAEMON", Object: d.State.String(), Err: syscall.EEXIST}
		}
	}
	k.daemons = append(k.daemons, d)
	return nil
}

func (k *Kernel) StopSyncDaemon(st ipvs.SyncState) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, x := range k.daemons {
		if x.State == st {
			k.daemons = append(k.daemons[:i], k.daemons[i+1:]...)
			return nil
		}
	}
	return &ipvs.OpError{Op: "DEL_DAEMON", Object: st.String(), Err: syscall.ESRCH} // errors.Is(err, ipvs.ErrSyncDaemonNotRunning)
}
