// Package daemon is where the components meet: it translates a conf.Config into the
// option types of vrrp, garp, ipvs and healthcheck, runs them as tasks under one
// errgroup, and owns reload and lifecycle (signals, shutdown order).
package daemon
