package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// keepalived-exporter's instance labels.
var instLabels = []string{"iname", "intf", "vrid"}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func instDesc(name, help string, extra ...string) *prometheus.Desc {
	return desc(name, help, append(append([]string(nil), instLabels...), extra...)...)
}

// instCounter is a per-instance counter with keepalived-exporter's labels.
type instCounter struct {
	d   *prometheus.Desc
	get func(*runner.InstanceStats) uint64
}

func rxErr(r vrrp.Reason) func(*runner.InstanceStats) uint64 {
	return func(s *runner.InstanceStats) uint64 { return s.RxErrors[r] }
}

var (
	keepalivedUp = desc("keepalived_up", "Whether the VRRP service is running (always 1 while lvs-ha answers).")
	vrrpState    = instDesc("keepalived_vrrp_state",
		"VRRP state per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", "ip_address")
	vrrpExcludedState = instDesc("keepalived_vrrp_excluded_state",
		"VRRP state per excluded virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", "ip_address")

	// Counters with keepalived-exporter's names, in its order.
	keepalivedCounters = []instCounter{
		{instDesc("keepalived_advertisements_received_total", "Advertisements received."),
			func(s *runner.InstanceStats) uint64 { return s.AdvertsReceived }},
		{instDesc("keepalived_advertisements_sent_total", "Advertisements sent."),
			func(s *runner.InstanceStats) uint64 { return s.AdvertsSent }},
		{instDesc("keepalived_become_master_total", "Transitions to MASTER."),
			func(s *runner.InstanceStats) uint64 { return s.BecomeMaster }},
		{instDesc("keepalived_release_master_total", "Transitions out of MASTER."),
			func(s *runner.InstanceStats) uint64 { return s.ReleaseMaster }},
		{instDesc("keepalived_packet_length_errors_total", "Packets rejected for their length."),
			rxErr(vrrp.ReasonPacketLength)},
		{instDesc("keepalived_advertisements_interval_errors_total", "VRRPv2 advertisements rejected for a different interval."),
			rxErr(vrrp.ReasonAdvertInterval)},
		{instDesc("keepalived_ip_ttl_errors_total", "Packets rejected for a TTL / hop limit other than 255."),
			rxErr(vrrp.ReasonInvalidTTL)},
		{instDesc("keepalived_invalid_type_received_total", "Packets rejected for a type other than advertisement."),
			rxErr(vrrp.ReasonInvalidType)},
		{instDesc("keepalived_address_list_errors_total", "Advertisements whose address list differs from ours (accepted or rejected)."),
			func(s *runner.InstanceStats) uint64 {
				return s.AddressListMismatch + s.RxErrors[vrrp.ReasonAddressList]
			}},
		{instDesc("keepalived_authentication_invalid_total", "VRRPv2 packets with an unknown or unsupported authentication type."),
			rxErr(vrrp.ReasonAuthType)},
		{instDesc("keepalived_authentication_mismatch_total", "VRRPv2 packets with another authentication type than ours."),
			rxErr(vrrp.ReasonAuthTypeMismatch)},
		{instDesc("keepalived_authentication_failure_total", "VRRPv2 packets with a wrong password."),
			rxErr(vrrp.ReasonAuthFailure)},
		{instDesc("keepalived_priority_zero_received_total", "Priority 0 advertisements received."),
			func(s *runner.InstanceStats) uint64 { return s.PriorityZeroReceived }},
		{instDesc("keepalived_priority_zero_sent_total", "Priority 0 advertisements sent."),
			func(s *runner.InstanceStats) uint64 { return s.PriorityZeroSent }},
	}

	// lvs-ha's own per-instance counters.
	lvsCounters = []instCounter{
		{instDesc("lvs_ha_vrrp_gratuitous_arps_sent_total", "Gratuitous ARPs and unsolicited neighbour advertisements sent."),
			func(s *runner.InstanceStats) uint64 { return s.GARPsSent }},
		{instDesc("lvs_ha_vrrp_gratuitous_arp_errors_total", "Gratuitous ARPs and unsolicited neighbour advertisements that could not be sent."),
			func(s *runner.InstanceStats) uint64 { return s.GARPErrors }},
		{instDesc("lvs_ha_vrrp_send_errors_total", "Advertisements that could not be encoded or sent (per destination)."),
			func(s *runner.InstanceStats) uint64 { return s.SendErrors }},
		{instDesc("lvs_ha_vrrp_vip_errors_total", "Failed additions or removals of virtual addresses."),
			func(s *runner.InstanceStats) uint64 { return s.VIPErrors }},
	}

	vrrpRxErrors       = instDesc("lvs_ha_vrrp_rx_errors_total", "Received packets rejected, by reason.", "reason")
	vrrpPriority       = instDesc("lvs_ha_vrrp_priority", "Effective priority (base priority adjusted by trackers).")
	vrrpBasePriority   = instDesc("lvs_ha_vrrp_base_priority", "Configured priority.")
	vrrpMasterPriority = instDesc("lvs_ha_vrrp_master_priority", "Priority of the current master as last heard (0 when unknown).")
	vrrpFault          = instDesc("lvs_ha_vrrp_fault", "Whether the instance's own trackers or link are failing.")
	vrrpLastTransition = instDesc("lvs_ha_vrrp_last_transition_timestamp_seconds",
		"Time of the last state transition, in seconds since the epoch (absent before the first).")
	vrrpTracker = instDesc("lvs_ha_vrrp_tracker_state",
		"Tracker state per instance: 0 init, 1 ok, 2 fail.", "kind", "tracker")
	vrrpSyncGroupState = desc("lvs_ha_vrrp_sync_group_state",
		"Sync group state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", "group")
	vrrpRxUnknownVRID = desc("lvs_ha_vrrp_rx_unknown_vrid_total", "Received packets whose VRID no instance uses.")
	vrrpRxTooShort    = desc("lvs_ha_vrrp_rx_too_short_total", "Received packets too short to carry a VRID.")
	vrrpRecvErrors    = desc("lvs_ha_vrrp_receive_errors_total", "Socket receive errors.")
)

// keepalivedState maps a state to keepalived's numbering (VRRP_STATE_*).
func keepalivedState(s vrrp.State) float64 {
	switch s {
	case vrrp.StateBackup:
		return 1
	case vrrp.StateMaster:
		return 2
	case vrrp.StateFault:
		return 3
	}
	return 0
}

type vrrpCollector struct{ m *Metrics }

var _ prometheus.Collector = (*vrrpCollector)(nil)

func (c *vrrpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		keepalivedUp, vrrpState, vrrpExcludedState, vrrpRxErrors, vrrpPriority, vrrpBasePriority,
		vrrpMasterPriority, vrrpFault, vrrpLastTransition, vrrpTracker, vrrpSyncGroupState,
		vrrpRxUnknownVRID, vrrpRxTooShort, vrrpRecvErrors,
	} {
		ch <- d
	}
	for _, l := range [][]instCounter{keepalivedCounters, lvsCounters} {
		for _, k := range l {
			ch <- k.d
		}
	}
}

func (c *vrrpCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.Sources()
	if src.VRRP == nil {
		return
	}
	st := src.VRRP.Snapshot()
	ch <- prometheus.MustNewConstMetric(keepalivedUp, prometheus.GaugeValue, 1)
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	seen := map[[3]string]bool{}
	for i := range st.Instances {
		in := &st.Instances[i]
		l := []string{in.Name, in.Interface, strconv.Itoa(int(in.VRID))}
		if seen[[3]string(l)] {
			continue // names are unique in a valid config; never emit duplicates
		}
		seen[[3]string(l)] = true
		with := func(extra ...string) []string { return append(append([]string(nil), l...), extra...) }

		state := keepalivedState(in.State)
		var vips, excluded int
		for _, v := range src.VIPs[in.Name] {
			d := vrrpState
			if v.Excluded {
				d, excluded = vrrpExcludedState, excluded+1
			} else {
				vips++
			}
			gauge(d, state, in.Name, v.Interface, l[2], v.Addr.String())
		}
		if vips == 0 {
			gauge(vrrpState, state, with("")...)
		}
		for _, k := range keepalivedCounters {
			counter(k.d, k.get(in), l...)
		}
		for _, k := range lvsCounters {
			counter(k.d, k.get(in), l...)
		}
		for _, r := range vrrp.Reasons() {
			counter(vrrpRxErrors, in.RxErrors[r], with(r.String())...)
		}
		gauge(vrrpPriority, float64(in.EffectivePriority), l...)
		gauge(vrrpBasePriority, float64(in.BasePriority), l...)
		gauge(vrrpMasterPriority, float64(in.MasterPriority), l...)
		gauge(vrrpFault, b2f(in.Fault), l...)
		if !in.LastTransition.IsZero() {
			gauge(vrrpLastTransition, float64(in.LastTransition.UnixNano())/1e9, l...)
		}
		trk := map[[2]string]bool{}
		for _, t := range in.Trackers {
			k := [2]string{t.Kind.String(), t.Name}
			if trk[k] {
				continue
			}
			trk[k] = true
			gauge(vrrpTracker, float64(t.State), with(k[0], k[1])...)
		}
	}
	groups := map[string]bool{}
	for _, g := range st.SyncGroups {
		if groups[g.Name] {
			continue
		}
		groups[g.Name] = true
		gauge(vrrpSyncGroupState, keepalivedState(g.State), g.Name)
	}
	counter(vrrpRxUnknownVRID, st.RxUnknownVRID)
	counter(vrrpRxTooShort, st.RxTooShort)
	counter(vrrpRecvErrors, st.RecvErrors)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
