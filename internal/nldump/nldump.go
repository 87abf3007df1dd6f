// Package nldump reads rtnetlink dumps (addresses, links, neighbours) whole: the
// kernel marks a dump interrupted when the table changed while it was read, and
// github.com/vishvananda/netlink then returns a partial list with
// netlink.ErrDumpInterrupted.
package nldump

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// tries bounds the retries of a dump that keeps being interrupted.
const tries = 5

// Retry calls dump until it returns something other than netlink.ErrDumpInterrupted,
// at most a few times, and returns its last result.
func Retry[T any](dump func() ([]T, error)) ([]T, error) {
	var list []T
	var err error
	for range tries {
		if list, err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return list, err
}
