package healthcheck

import (
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestKeptTargetAllocatesNothing: a checker keeps its target's raw sockaddr,
// so starting a connect with it allocates nothing (it took two allocations
// per check when the sockaddr was built at every connect), and it is the
// sockaddr that would be built.
func TestKeptTargetAllocatesNothing(t *testing.T) {
	c := connTo(t, closedPort(t), 0)
	kept := c.keepTarget()
	if kept.rlen == 0 {
		t.Fatal("an IPv4 target was not kept")
	}
	sa, _, err := c.sockaddr(c.ConnectIP, c.ConnectPort, true)
	if err != nil {
		t.Fatal(err)
	}
	if rsa, rlen := rawSockaddr(sa); *(*unix.RawSockaddrInet6)(unsafe.Pointer(rsa)) != kept.rsa || rlen != kept.rlen {
		t.Fatalf("kept %+v (%d), built %+v (%d)", kept.rsa, kept.rlen, *rsa, rlen)
	}
	allocs := testing.AllocsPerRun(50, func() {
		fd, _, _, _, err := c.startConnect(false, &kept)
		if err == nil {
			rawClose(fd)
		}
	})
	if allocs != 0 {
		t.Errorf("startConnect with a kept target: %v allocations, want 0", allocs)
	}
}

// TestKeepTargetZone: a link-local target whose zone is an interface name is
// not kept (its index is looked up at each connect, so a re-created
// interface is seen); a numeric zone is kept with its index.
func TestKeepTargetZone(t *testing.T) {
	named := Conn{ConnectIP: netip.MustParseAddr("fe80::1"), ConnectPort: 80, BindIf: "lo"}
	if k := named.keepTarget(); k.rlen != 0 {
		t.Errorf("target zoned by name %q kept", named.BindIf)
	}
	numbered := Conn{ConnectIP: netip.MustParseAddr("fe80::1%7"), ConnectPort: 80}
	k := numbered.keepTarget()
	if k.rlen != unix.SizeofSockaddrInet6 {
		t.Fatalf("target zoned by index not kept (rlen %d)", k.rlen)
	}
	r := (*unix.RawSockaddrInet6)(unsafe.Pointer(&k.rsa))
	if p := (*[2]byte)(unsafe.Pointer(&r.Port)); r.Family != unix.AF_INET6 || r.Scope_id != 7 || p[0] != 0 || p[1] != 80 {
		t.Errorf("kept %+v, want AF_INET6 scope 7 port 80", *r)
	}
}
