package script

import (
	"strconv"
	"strings"
)

// NotifyKind is the first of the four arguments keepalived appends for "notify".
type NotifyKind string

// Notify kinds.
const (
	NotifyInstance NotifyKind = "INSTANCE"
	NotifyGroup    NotifyKind = "GROUP"
)

// Notify states, as passed to notify scripts and written to notify FIFOs.
const (
	StateMaster  = "MASTER"
	StateBackup  = "BACKUP"
	StateFault   = "FAULT"
	StateStop    = "STOP"    // instances only
	StateDeleted = "DELETED" // instances removed at reload with notify_deleted
)

// NotifyArgs returns the argv for keepalived's generic "notify" script: the configured
// argv followed by four arguments
//
//	"GROUP"|"INSTANCE"  NAME  MASTER|BACKUP|FAULT|STOP|DELETED  PRIORITY
//
// where the kind and state are upper-cased and the priority is the instance's
// effective priority, always 0 for a group (keepalived's notify_script_exec).
//
// The state-specific scripts (notify_master, notify_backup, notify_fault, notify_stop,
// notify_deleted, notify_master_rx_lower_pri) get no extra arguments: run their argv as
// configured. keepalived runs the state-specific script first, then "notify", without
// waiting for either, except that STOP scripts are given StopNotifyTimeout.
func NotifyArgs(argv []string, kind NotifyKind, name, state string, priority int) []string {
	if kind == NotifyGroup {
		priority = 0
	}
	out := make([]string, 0, len(argv)+4)
	out = append(out, argv...)
	return append(out, strings.ToUpper(string(kind)), name, strings.ToUpper(state), strconv.Itoa(priority))
}
