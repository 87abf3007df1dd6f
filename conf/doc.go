// Package conf turns a keepalived.conf (keepalived 2.2.7 syntax, parsed by
// conf/syntax) into a typed, normalized and validated Config.
//
// Load walks the statement tree with one keyword table per block (see
// Keywords; docs/config.md is generated from the same tables). Each keyword
// is either implemented — parsed into the model — or accepted and ignored
// with a "not supported by lvs-ha (ignored)" warning. Legacy names (lb_algo,
// lb_kind, nb_get_retry, nb_sock_retry, lvs_flush_onstop,
// lvs_sync_daemon_interface...) map to their current meaning.
//
// After the walk, defaults are filled the way keepalived fills them
// (instance settings from global_defs, real server settings from their
// virtual_server, checker settings from their real_server, per-checker
// retry defaults...) and cross references are checked (track_script,
// sync group members, virtual_server groups, VRID clashes). Where keepalived
// corrects a setting and carries on, conf makes the same correction and
// warns; where keepalived drops an item or refuses the file, conf reports an
// error. Every diagnostic names file, line and column of the offending word.
//
// Durations are Duration (a time.Duration) and marshal to JSON as seconds.
// The package does no I/O beyond reading the configuration files.
package conf
