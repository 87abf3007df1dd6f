package vrrpsock

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// polledFds returns the file descriptors registered in any epoll instance
// of the process (the Go runtime's netpoller is one), from the "tfd:"
// lines of /proc/self/fdinfo of every eventpoll descriptor.
func polledFds(t *testing.T) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]bool{}
	epolls := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed meanwhile: not the runtime's
		}
		epolls++
		for _, line := range strings.Split(string(info), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" {
				if n, err := strconv.Atoi(f[1]); err == nil {
					fds[n] = true
				}
			}
		}
	}
	if epolls == 0 {
		t.Fatal("no epoll instance in /proc/self/fd: the Go runtime's netpoller should have one")
	}
	return fds
}

// TestDetach: a detached Conn's socket is in no epoll set (so sending and
// receiving adverts wakes nothing but the caller's ppoll), while before it
// is in the runtime's; after detaching, the socket still has its device,
// options and group membership (an advert sent by one detached Conn is
// received by another, through PollFd and TryRecv as through Recv, parsed
// as before), Send and TryRecv do not allocate, and Close unblocks a
// pending Recv, after which Send and Recv fail with net.ErrClosed.
func TestDetach(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name string
		ipv6 bool
	}{{"IPv4", false}, {"IPv6", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ca := tp.a.open(Config{Interface: "a1", IPv6: tc.ipv6})
			cb := tp.b.open(Config{Interface: "b1", IPv6: tc.ipv6})
			a, group := a4, DefaultGroup4
			if tc.ipv6 {
				a, group = a6, DefaultGroup6
			}
			if fd := cb.PollFd(); !polledFds(t)[fd] {
				t.Fatalf("before Detach, socket fd %d is in no epoll set; the test cannot see the runtime's", fd)
			}
			for _, c := range []*Conn{ca, cb} {
				if err := c.Detach(); err != nil {
					t.Fatal(err)
				}
			}
			if err := cb.Detach(); err != nil {
				t.Fatalf("second Detach: %v", err)
			}
			polled := polledFds(t)
			for who, c := range map[string]*Conn{"A": ca, "B": cb} {
				if fd := c.PollFd(); polled[fd] {
					t.Errorf("%s: detached socket fd %d is still in an epoll set", who, fd)
				}
			}

			buf := make([]byte, 2048)
			send(t, ca, "detached", group)
			fds := []unix.PollFd{{Fd: int32(cb.PollFd()), Events: unix.POLLIN}}
			if n, err := unix.Ppoll(fds, &unix.Timespec{Sec: int64(recvTimeout / time.Second)}, nil); err != nil || n != 1 {
				t.Fatalf("ppoll: n %d err %v, want readable", n, err)
			}
			p, ok, err := cb.TryRecv(buf)
			if !ok || err != nil {
				t.Fatalf("TryRecv after ppoll: ok %v err %v", ok, err)
			}
			check(t, "B polls A's advert", p, "detached", a, group, tp.b.ifindex("b1"))
			if _, ok, err := cb.TryRecv(buf); ok || err != nil {
				t.Fatalf("TryRecv on an empty socket: ok %v err %v, want false, nil", ok, err)
			}

			// Recv waits (ppoll) for the next one.
			got := make(chan Packet, 1)
			errc := make(chan error, 1)
			go func() {
				p, err := cb.Recv(make([]byte, 2048))
				if err != nil {
					errc <- err
					return
				}
				got <- p
			}()
			send(t, ca, "received", group)
			select {
			case p := <-got:
				check(t, "B receives A's advert", p, "received", a, group, tp.b.ifindex("b1"))
			case err := <-errc:
				t.Fatalf("Recv: %v", err)
			case <-time.After(recvTimeout):
				t.Fatal("Recv did not return the advert")
			}

			dst := ca.Destinations()[0]
			payload := []byte("an advert of twenty bytes")
			var failed error
			n := 0
			allocs := testing.AllocsPerRun(20, func() {
				if err := ca.Send(payload, dst); err != nil {
					failed = err
				}
				if _, err := unix.Ppoll(fds, &unix.Timespec{Sec: int64(recvTimeout / time.Second)}, nil); err != nil {
					failed = err
				}
				if _, ok, err := cb.TryRecv(buf); err != nil {
					failed = err
				} else if ok {
					n++
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if n != 21 || allocs != 0 {
				t.Errorf("detached Send, ppoll, TryRecv: %d adverts of 21, %.1f allocations per advert, want 0", n, allocs)
			}

			// most likely in ppoll by then; either way Recv must end
			closeUnblocksRecv(t, cb, group, 10*time.Millisecond)
			if _, _, err := cb.TryRecv(buf); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("TryRecv after Close: %v, want net.ErrClosed", err)
			}
			if err := cb.Close(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("second Close: %v, want net.ErrClosed", err)
			}
		})
	}
}
