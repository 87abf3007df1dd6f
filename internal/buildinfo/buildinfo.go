// Package buildinfo holds the version stamped into the binary at link time.
package buildinfo

import "runtime/debug"

// Version is set with -ldflags "-X github.com/lvs-ha/lvs-ha/internal/buildinfo.Version=...".
var Version = "dev"

// Revision returns the VCS revision recorded by the Go toolchain, if any.
func Revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
