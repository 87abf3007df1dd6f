package nldump

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
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

func TestPrefixes(t *testing.T) {
	ns := netns.New(t)
	h := ns.Netlink(t)
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err == nil {
		err = h.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 1), Mask: net.CIDRMask(24, 32)}})
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("192.0.2.1/24")}
	got, err := Prefixes(h, lo, netlink.FAMILY_V4)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Prefixes = %v, %v; want %v", got, err, want)
	}
	// A nil handle lists in the calling thread's namespace.
	err = ns.Do(func() error {
		got, err = Prefixes(nil, lo, netlink.FAMILY_V4)
		return err
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Prefixes(nil) in the namespace = %v, %v; want %v", got, err, want)
	}
}
