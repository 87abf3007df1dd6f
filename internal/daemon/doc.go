// Package daemon is where the components meet: it translates a conf.Config into the
// option types of vrrp, garp, ipvs and healthcheck, runs them as tasks under one
// errgroup, and owns reload and lifecycle (signals, shutdown order).
//
// IPVS: the virtual_server blocks become one desired ipvs.Table (groups expanded
// as keepalived does). The IPVS component runs on master and backup alike: at
// start it reconciles the kernel with that table, deleting only services it
// owns (lvs_flush also deletes foreign ones). Without IPVS in the kernel it logs
// "IPVS unavailable", retries every 10 s and leaves VRRP running. At shutdown it
// follows keepalived: by default it deletes the services lvs-ha owns and leaves
// foreign ones; lvs_flush_on_stop without argument flushes the whole table;
// lvs_flush_on_stop VS deletes lvs-ha's services (the kernel drops their real
// servers, as with the default); Daemon.KeepIPVSOnStop (keepalived's
// --dont-release-ipvs) leaves the table in place.
package daemon
