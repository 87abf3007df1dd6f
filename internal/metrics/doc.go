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
//
// A large IPVS table is millions of series (10,000 services x 10 real servers
// is 1.1 M): with [Options.DirectIPVS] the IPVS families stay off the registry
// and [Metrics.Handler] writes them straight to the text format, the same
// bytes promhttp would serve, in a fraction of the time Gather takes.
package metrics
