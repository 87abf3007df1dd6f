// Package metrics exposes lvs-ha's Prometheus metrics.
//
// Everything is registered on a registry the caller injects (see [New] and
// [NewRegistry]); the package has no global state, so two daemons in one process
// each get their own series. VRRP, IPVS and health-check state is read at scrape
// time from the snapshot interfaces in [Sources] ([VRRPSource] is satisfied by
// *runner.Runner, [IPVSSource] by *ipvs.Netlink), which the daemon swaps with
// [Metrics.SetSources] on every reload. Events that snapshots cannot reconstruct
// are pushed: [Metrics.ObserveCheck] for every finished health check and
// [Metrics.ConfigReloaded] for every (re)load.
//
// VRRP series reuse the names and labels of mehdy/keepalived-exporter
// (keepalived_*{iname,intf,vrid}) and the IPVS backend gauges those of
// node_exporter's ipvs collector (node_ipvs_backend_*{local_address,local_port,
// remote_address,remote_port,proto,local_mark}) so existing dashboards keep
// working; lvs-ha's own series are prefixed lvs_ha_. docs/metrics.md lists every
// series; a test keeps it in step with what the registry exposes.
package metrics
