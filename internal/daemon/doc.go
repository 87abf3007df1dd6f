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
//
// Health (health.go): each checker block of a real_server becomes one
// healthcheck.Check (one per host of an SMTP_CHECK with host blocks) with an
// ID stable across reloads ("TCP 192.0.2.1:80/10.0.0.1:80/HTTP_GET#0"); one
// healthcheck.Runner runs them all. A real server is up when all its checks
// are (always, without checkers); alpha checks start down. Every transition
// that changes a real server recomputes the desired table from the
// configuration and the current health and applies it through IPVS.Apply
// (bursts coalesce into one apply): a down real server is removed, or kept at
// weight 0 with inhibit_on_failure; an up one has its configured weight or
// its misc_dynamic weight. Quorum follows keepalived's update_quorum_state:
// lost when the weight of the up real servers falls below quorum - hysteresis
// (or to 0), gained when it reaches quorum + hysteresis, running quorum_down /
// quorum_up; while it is lost a sorry_server replaces the real servers
// (kept at weight 0 afterwards with sorry_server_inhibit). notify_up /
// notify_down run on real server transitions; every transition is logged
// with the check's reason.
//
// Observability (daemon.go, ops.go): every Daemon registers its metrics on its
// own registry (Options.Registry, else metrics.NewRegistry) and, with
// Options.StatusAddr, serves /metrics and /status (internal/status) from the
// VRRP runner's snapshot, the live kernel table (IPVS.Table), the health
// checks' scheduler state and the configured table; every finished check is
// observed. A listen failure is logged and does not stop the daemon. SIGUSR1
// (Options.Signals) writes the /status document plus the full VRRP snapshot
// as JSON to Options.DumpFile (DefaultDumpFile), replaced atomically. The
// service manager is told READY=1 once the components run, STOPPING=1 at
// shutdown, and RELOADING=1 then READY=1 around a SIGHUP reload.
//
// Reload (reload.go): SIGHUP runs ReloadFile: the whole file is loaded and
// validated; with any error the running configuration stays, every
// diagnostic is logged with its file:line and the failure is counted. A
// valid file is translated completely before anything changes, then only the
// difference is applied, VRRP first (runner.Runner.Update: an instance with
// an unchanged configuration keeps its state, timers and advert rhythm; a
// changed one keeps its state and takes the new options; one whose sync
// group membership changed restarts; removed ones send priority 0; new
// sockets are opened before anything changes, so a failure there leaves the
// daemon as it was; a configuration that gains its first instance starts
// the runner), then health checks through healthcheck.Runner.Update
// (unchanged checks keep their state and schedule; real server and quorum
// states are recomputed from them), then IPVS through IPVS.Apply (only
// changed services and destinations; the component is started if the old
// configuration had none).
package daemon
