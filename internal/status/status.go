package status

import (
	"iter"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// Document is the body of GET /status.
type Document struct {
	Version        string          `json:"version"`
	Time           time.Time       `json:"time"`
	Instances      []Instance      `json:"instances"`
	SyncGroups     []SyncGroup     `json:"sync_groups,omitempty"`
	VirtualServers []VirtualServer `json:"virtual_servers"`
	// IPVSError is set when the kernel's IPVS table could not be read.
	IPVSError string `json:"ipvs_error,omitempty"`
	// ConnSync is the kernel's connection sync state; absent without ip_vs.
	ConnSync *ConnSync `json:"connection_sync,omitempty"`
	// BGP is bgp_speaker's state; absent without one.
	BGP *metrics.BGPState `json:"bgp,omitempty"`
}

// Instance is one VRRP instance.
type Instance struct {
	Name              string `json:"name"`
	Interface         string `json:"interface"`
	VRID              uint8  `json:"vrid"`
	Family            string `json:"family"`
	State             string `json:"state"`
	BasePriority      uint8  `json:"base_priority"`
	EffectivePriority uint8  `json:"effective_priority"`
	Fault             bool   `json:"fault"`
	// Master is the current master's address as last heard (ours while
	// MASTER); empty when unknown.
	Master               string     `json:"master,omitempty"`
	MasterPriority       uint8      `json:"master_priority,omitempty"`
	LastTransition       *time.Time `json:"last_transition,omitempty"`
	LastTransitionReason string     `json:"last_transition_reason,omitempty"`
	SyncGroup            string     `json:"sync_group,omitempty"`
	VIPs                 []string   `json:"vips,omitempty"`
	ExcludedVIPs         []string   `json:"excluded_vips,omitempty"`
}

// SyncGroup is one vrrp_sync_group.
type SyncGroup struct {
	Name    string   `json:"name"`
	State   string   `json:"state"`
	Members []string `json:"members"`
}

// VirtualServer is one IPVS service, configured or found in the kernel.
type VirtualServer struct {
	Service   string `json:"service"` // ipvs.ServiceKey.String(): "TCP 10.0.0.1:80", "FWM 7 IPv4"
	Scheduler string `json:"scheduler,omitempty"`
	// Configured: in lvs-ha's configuration; InKernel: in the kernel table.
	Configured  bool         `json:"configured"`
	InKernel    bool         `json:"in_kernel"`
	Connections uint64       `json:"connections,omitempty"`
	RealServers []RealServer `json:"real_servers"`
}

// Health values of a real server.
const (
	HealthUp      = "up"
	HealthDown    = "down"
	HealthUnknown = "unknown" // no check, or none has run yet
)

// RealServer is one destination of a virtual server.
type RealServer struct {
	Address string `json:"address"` // ADDR:PORT
	Method  string `json:"method,omitempty"`
	Health  string `json:"health"`
	// ConfiguredWeight is the weight in the configuration (absent for a
	// destination found only in the kernel); Weight the weight in the
	// kernel (absent when the destination is not in the kernel).
	ConfiguredWeight *int32  `json:"configured_weight,omitempty"`
	Weight           *int32  `json:"weight,omitempty"`
	ActiveConns      uint32  `json:"active_conns"`
	InactiveConns    uint32  `json:"inactive_conns"`
	Checks           []Check `json:"checks,omitempty"`
}

// Check is one health check of a real server with its last result.
type Check struct {
	Checker string `json:"checker"`
	Up      bool   `json:"up"`
	// Result is "" before the first run, else the result's reason ("ok",
	// "timeout", ...); Detail is for humans.
	Result   string     `json:"result,omitempty"`
	Detail   string     `json:"detail,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Duration float64    `json:"duration_seconds,omitempty"`
}

// Build assembles the document from src at now.
func Build(src metrics.Sources, version string, now time.Time) Document {
	doc, vss := build(src, version, now, false)
	vss(func(vs VirtualServer) bool {
		doc.VirtualServers = append(doc.VirtualServers, vs)
		return true
	})
	return doc
}

// build reads src (in Build's order) and returns the document without its
// virtual servers (VirtualServers is empty) and an iterator yielding them in
// order, one at a time: /status encodes each as it comes instead of holding
// them all. With reuse, a yielded virtual server's slices and weights are
// only valid until the next one (they are built in the same memory).
func build(src metrics.Sources, version string, now time.Time, reuse bool) (Document, iter.Seq[VirtualServer]) {
	doc := Document{Version: version, Time: now, Instances: []Instance{}, VirtualServers: []VirtualServer{}}
	if src.VRRP != nil {
		st := src.VRRP.Snapshot()
		for _, in := range st.Instances {
			doc.Instances = append(doc.Instances, instance(in, src.VIPs[in.Name]))
		}
		for _, g := range st.SyncGroups {
			doc.SyncGroups = append(doc.SyncGroups, SyncGroup{Name: g.Name, State: g.State.String(), Members: slices.Clone(g.Members)})
		}
	}
	var live ipvs.Table
	if src.IPVS != nil {
		t, err := src.IPVS.Table()
		if err != nil {
			doc.IPVSError = err.Error()
		} else {
			live = t
			live.Sort() // the kernel lists in hash order
		}
	}
	var checks []metrics.CheckStatus
	if src.Health != nil {
		checks = src.Health.HealthChecks()
	}
	vss := virtualServers(src.Desired, live, checks, reuse)
	doc.ConnSync = connSync(src.Sync)
	if src.BGP != nil {
		st := src.BGP.BGPState()
		doc.BGP = &st
	}
	return doc, vss
}

func instance(in runner.InstanceStats, vips []metrics.VIP) Instance {
	out := Instance{
		Name: in.Name, Interface: in.Interface, VRID: in.VRID, Family: family(in.Family),
		State: in.State.String(), BasePriority: in.BasePriority, EffectivePriority: in.EffectivePriority,
		Fault: in.Fault, MasterPriority: in.MasterPriority,
		LastTransitionReason: in.LastTransitionReason, SyncGroup: in.SyncGroup,
	}
	if in.MasterAddr.IsValid() {
		out.Master = in.MasterAddr.String()
	}
	if !in.LastTransition.IsZero() {
		t := in.LastTransition
		out.LastTransition = &t
	}
	for _, v := range vips {
		if v.Excluded {
			out.ExcludedVIPs = append(out.ExcludedVIPs, v.Addr.String())
		} else {
			out.VIPs = append(out.VIPs, v.Addr.String())
		}
	}
	return out
}

func family(f vrrp.Family) string {
	switch f {
	case vrrp.FamilyIPv4:
		return "IPv4"
	case vrrp.FamilyIPv6:
		return "IPv6"
	}
	return ""
}

// virtualServers merges the configured and the live table (configured order
// first, then services only in the kernel) and attaches the checks; the
// iterator builds each virtual server as it yields it (in reused memory with
// reuse: see build).
func virtualServers(desired, live ipvs.Table, checks []metrics.CheckStatus, reuse bool) iter.Seq[VirtualServer] {
	type rsKey struct {
		svc ipvs.ServiceKey
		rs  netip.AddrPort
	}
	byRS := map[rsKey][]metrics.CheckStatus{}
	for _, c := range checks {
		for _, k := range c.Services {
			key := rsKey{k, c.RealServer}
			byRS[key] = append(byRS[key], c)
		}
	}
	// Index both tables by key: at 10,000 services linear lookups made
	// /status quadratic (seconds per request).
	var keys []ipvs.ServiceKey
	index := func(t *ipvs.Table) map[ipvs.ServiceKey]*ipvs.Service {
		m := make(map[ipvs.ServiceKey]*ipvs.Service, len(t.Services))
		for i := range t.Services {
			s := &t.Services[i]
			if _, ok := m[s.Key]; ok {
				continue
			}
			m[s.Key] = s
		}
		return m
	}
	byKey := [2]map[ipvs.ServiceKey]*ipvs.Service{index(&desired), index(&live)}
	seen := make(map[ipvs.ServiceKey]bool, len(desired.Services))
	for _, t := range []*ipvs.Table{&desired, &live} {
		for _, s := range t.Services {
			if !seen[s.Key] {
				seen[s.Key] = true
				keys = append(keys, s.Key)
			}
		}
	}
	return func(yield func(VirtualServer) bool) {
		var sc vsScratch
		for _, k := range keys {
			if !reuse {
				sc = vsScratch{}
			}
			if !yield(sc.virtualServer(k, byKey[0][k], byKey[1][k], func(ap netip.AddrPort) []metrics.CheckStatus { return byRS[rsKey{k, ap}] })) {
				return
			}
		}
	}
}

// vsScratch is the memory virtualServer builds in; a zero one allocates.
type vsScratch struct {
	dests   []netip.AddrPort
	rss     []RealServer
	weights []int32
}

// virtualServer is the entry of k, configured as d and in the kernel as l
// (either nil); checks gives a real server's checks.
func (sc *vsScratch) virtualServer(k ipvs.ServiceKey, d, l *ipvs.Service, checks func(netip.AddrPort) []metrics.CheckStatus) VirtualServer {
	vs := VirtualServer{Service: k.String(), Configured: d != nil, InKernel: l != nil, RealServers: sc.rss[:0]}
	if vs.RealServers == nil {
		vs.RealServers = []RealServer{}
	}
	dests := sc.dests[:0]
	for _, s := range []*ipvs.Service{d, l} {
		if s == nil {
			continue
		}
		if vs.Scheduler == "" {
			vs.Scheduler = s.SchedulerName()
		}
		for i := range s.Destinations {
			if ap := s.Destinations[i].AddrPort(); !slices.Contains(dests, ap) {
				dests = append(dests, ap)
			}
		}
	}
	if l != nil {
		vs.Connections = l.Counters().Conns
	}
	// The weights' pointers point into one array, allocated whole so that
	// appending never moves it.
	weights := sc.weights[:0]
	if cap(weights) < 2*len(dests) {
		weights = make([]int32, 0, 2*len(dests))
	}
	weight := func(w int32) *int32 {
		weights = append(weights, w)
		return &weights[len(weights)-1]
	}
	for _, ap := range dests {
		rs := RealServer{Address: ap.String(), Health: HealthUnknown}
		if d != nil {
			if dd := d.Destination(ap.Addr(), ap.Port()); dd != nil {
				rs.ConfiguredWeight, rs.Method = weight(dd.Weight), dd.Method.String()
			}
		}
		if l != nil {
			if ld := l.Destination(ap.Addr(), ap.Port()); ld != nil {
				rs.Weight, rs.Method = weight(ld.Weight), ld.Method.String()
				st := ld.Counters()
				rs.ActiveConns, rs.InactiveConns = st.ActiveConns, st.InactConns
			}
		}
		rs.Checks, rs.Health = checksOf(checks(ap))
		vs.RealServers = append(vs.RealServers, rs)
	}
	sc.dests, sc.rss, sc.weights = dests, vs.RealServers, weights
	return vs
}

func checksOf(cs []metrics.CheckStatus) ([]Check, string) {
	if len(cs) == 0 {
		return nil, HealthUnknown
	}
	health, ran := HealthUp, false
	var out []Check
	for _, c := range cs {
		ck := Check{Checker: c.Checker, Up: c.State.Up}
		if c.State.HasRun {
			ran = true
			ck.Result, ck.Detail = c.State.Last.Reason, c.State.Last.Detail
			ck.Duration = c.State.Last.Duration.Seconds()
			if !c.State.LastAt.IsZero() {
				at := c.State.LastAt
				ck.At = &at
			}
		}
		if !c.State.Up {
			health = HealthDown
		}
		out = append(out, ck)
	}
	if !ran && health == HealthUp {
		health = HealthUnknown
	}
	return out, health
}
