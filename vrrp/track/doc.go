// Package track implements the trackers that feed a VRRP instance's effective priority
// and fault state, with keepalived's semantics: vrrp_script/track_script
// (ScriptTracker) and track_interface (InterfaceTracker), combined by Effective.
//
// The trackers are pure state machines driven with explicit times and events; the I/O
// lives at the edges: ScriptTracker.Run drives a tracker from a clock.Clock and a
// script runner (see ExecRunner), and WatchLinks maps rtnetlink link notifications to
// LinkEvents. Trackers are not safe for concurrent use: one goroutine owns each, and
// consumers get Status snapshots.
//
// Priority rules (keepalived vrrp_track.c / vrrp.c):
//
//   - weight 0 ("unweighted"): a failing tracker puts the instance in FAULT (with
//     reverse: a succeeding one does);
//   - weight > 0: added while the tracker is OK (reverse: subtracted);
//   - weight < 0: added, i.e. |weight| subtracted, while it fails (reverse: |weight|
//     added);
//   - a script that has not reported yet (StateInit) neither adds nor faults;
//   - the sum is added to the base priority and clamped to 1..254;
//   - an address owner (base priority 255) ignores weighted trackers entirely
//     (keepalived drops them with a config error) and always stays at 255; its
//     unweighted trackers still cause FAULT.
//
// Sync groups without sync_group_tracking_weight force weights to 0 in keepalived;
// that is the configuration layer's job (set Weight to 0), not this package's.
package track
