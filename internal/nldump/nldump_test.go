package nldump

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestRetry(t *testing.T) {
	calls := 0
	got, err := Retry(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{calls}, fmt.Errorf("dump: %w", netlink.ErrDumpInterrupted)
		}
		return []int{1, 2, 3}, nil
	})
	if err != nil || !slices.Equal(got, []int{1, 2, 3}) || calls != 3 {
		t.Errorf("Retry = %v, %v after %d calls; want the third, complete dump", got, err, calls)
	}

	calls = 0
	other := errors.New("other")
	if _, err := Retry(func() ([]int, error) { calls++; return nil, other }); err != other || calls != 1 {
		t.Errorf("Retry with another error = %v after %d calls; want it at once", err, calls)
	}

	calls = 0
	if _, err := Retry(func() ([]int, error) { calls++; return nil, netlink.ErrDumpInterrupted }); !errors.Is(err, netlink.ErrDumpInterrupted) || calls != tries {
		t.Errorf("Retry of a dump always interrupted = %v after %d calls; want ErrDumpInterrupted after %d", err, calls, tries)
	}
}
