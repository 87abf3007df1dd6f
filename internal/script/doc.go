// Package script runs external scripts the way keepalived does (vrrp_script tracking
// scripts, notify scripts, MISC_CHECK): [SplitCommand] turns a keepalived script
// string into argv and [Run] executes it, without a shell, in its own process group,
// with a timeout.
package script
