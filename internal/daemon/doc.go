// Package daemon is where the components meet: it translates a conf.Config
// into one plan for vrrp, healthcheck and ipvs, runs them under one errgroup,
// and owns reload, signals, metrics and /status, and the shutdown order.
//
// A reload (reload.go) builds the whole plan first, purely: any error changes
// nothing. It then commits VRRP, the one step that can still fail (and then
// changes nothing), then the health checks and IPVS through lvs (lvs.go), the
// one owner of the real servers' health state (lvsstate.go) and the one
// writer of the IPVS table.
//
// The IPVS connection sync daemons (lvs_sync_daemon) and the net.ipv4.vs
// sysctls belong to syncd (sync.go): a pure core (syncOps: the wanted
// daemons, from the plan and the VRRP instance's state, against the
// running ones) and one goroutine that reads the VRRP runner's snapshot when
// told of a transition (runner.Options.OnTransition) and calls the kernel;
// see docs/connection-sync.md.
//
// static_ipaddress, static_routes and static_rules (routes.go) are added
// when Run starts, before the VRRP instances, diffed by a reload and removed
// after every component has stopped, as keepalived 2.2.7 does; a failure is
// logged and the daemon runs on without the entry. virtual_routes and
// virtual_rules are the VRRP runner's: they follow MASTER with the VIPs.
//
// The notify FIFOs (notify_fifo, vrrp_notify_fifo, lvs_notify_fifo: fifo.go)
// are opened with their readers when Run starts and closed after every
// component has stopped; the VRRP runner (runner.Options.OnNotify) and lvs
// (lvsOptions.FIFO, from lvsState's actions) hand them keepalived's lines,
// which internal/notifyfifo queues without ever blocking them.
//
// The e-mail alerts (smtp_server, notification_email, smtp_alert: mail.go)
// take the same two paths: the VRRP notifies (instances and sync groups) and
// lvsState's real server and quorum actions go to an internal/mail sender
// started by Run, whose bounded queue and goroutine keep a slow or dead mail
// server from ever delaying them.
//
// bgp_speaker and bgp_announce (bgp.go) belong to bgpd: lvs reports after
// every apply whether one has succeeded and each virtual server's healthy
// real servers (lvsOptions.OnHealth); bgpd turns that into each VIP's
// eligibility, runs bgp.Gate (announce_delay) and announces or withdraws
// through the speaker (run under the errgroup, updated by a reload) or, in
// route-only mode, an address on the named interface. Every configured VIP
// is on lo from Run's start until it is removed or lvs-ha stops, announced
// or not, so that IPVS keeps receiving connections in flight after a
// withdrawal. When ctx ends, Run first has bgpd withdraw every prefix and
// keeps every component running for drain_time (if something was
// announced), then stops them.
//
// The service manager is told READY=1 once the VRRP runner is Ready (sockets
// open, instances started) and lvs has attempted its first IPVS apply.
// Attempted, not succeeded: without IPVS in the kernel lvs logs "IPVS
// unavailable" and retries every 10 s while VRRP runs, and READY must still
// come. RELOADING=1 and READY=1 surround a SIGHUP reload, STOPPING=1 the
// shutdown.
package daemon
