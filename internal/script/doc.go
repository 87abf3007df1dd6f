// Package script runs external scripts the way keepalived does: vrrp_script tracking
// scripts, notify scripts and healthcheck MISC_CHECK scripts.
//
// A script string from keepalived.conf is split into argv by SplitCommand (unquoted
// whitespace separates words, ' and " group, backslash escapes as in keepalived's
// "Quoted strings"). Run executes argv directly (no shell) in its own process group,
// optionally as another user (script_user / per-script "user NAME [GROUP]"), with stdin,
// stdout and stderr on /dev/null unless writers are given. When the timeout expires
// (or ctx is done) the whole process group gets SIGTERM and, after a grace period,
// SIGKILL; a timed-out script is a failure. The child is always reaped.
//
// NotifyArgs and NotifyFIFOLine encode keepalived's notify conventions; CheckSecure
// implements enable_script_security's path checks.
//
// Like keepalived, scripts are started with PR_SET_PDEATHSIG=SIGTERM so they die with
// the daemon; the OS thread that forked is kept locked for the child's lifetime because
// Linux ties the parent-death signal to that thread.
package script
