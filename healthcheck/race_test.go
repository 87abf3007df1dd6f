//go:build race

package healthcheck

// The race detector makes sync.Pool drop items at random, so allocation
// counts of pooled paths mean nothing under it.
func init() { raceEnabled = true }
