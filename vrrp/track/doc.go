// Package track implements the trackers that feed a VRRP instance's effective
// priority and fault state with keepalived's semantics: [ScriptTracker]
// (vrrp_script / track_script), [InterfaceTracker] (track_interface),
// [ProcessTracker] (vrrp_track_process) and [FileStatus] (track_file), pure state
// machines combined by [Effective], plus [WatchLinks], which turns rtnetlink link
// notifications into the [LinkEvent]s an InterfaceTracker consumes. One goroutine
// owns each tracker; others read [Status] snapshots.
package track
