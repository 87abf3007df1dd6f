package iproute

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// RestoreRoute adds r if it is missing, as keepalived's
// reinstate_static_route after the kernel reported it deleted: added reports
// whether it was (a route with r's destination, table, tos and metric already
// there is left as it is).
func (m *Manager) RestoreRoute(r Route) (added bool, err error) {
	nr, err := m.toNetlinkRoute(r)
	if err != nil {
		return false, fmt.Errorf("iproute: restore route %s: %w", r, err)
	}
	switch err := m.h.RouteAdd(nr); {
	case errors.Is(err, unix.EEXIST):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("iproute: restore route %s: %w", r, err)
	}
	return true, nil
}

// RestoreRule adds r if it is missing (reinstate_static_rule): added reports
// whether it was.
func (m *Manager) RestoreRule(r Rule) (added bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	switch err := m.h.RuleAdd(toNetlinkRule(r)); {
	case errors.Is(err, unix.EEXIST):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("iproute: restore rule %s: %w", r, err)
	}
	return true, nil
}

// WatchDeletions calls onDelete each time the kernel reports addresses,
// routes or policy rules deleted in the calling thread's network namespace
// (once per message batch read, and after an overrun of the socket's
// buffer, when deletions may have been missed) until ctx ends; it is
// keepalived's netlink reflector for RTM_DELADDR, RTM_DELROUTE and
// RTM_DELRULE. It returns nil when ctx ends.
func WatchDeletions(ctx context.Context, onDelete func()) error {
	s, err := subscribeDeletions()
	if err != nil {
		return err
	}
	// The socket is non-blocking under Go's poller: closing it ends Receive.
	stop := context.AfterFunc(ctx, s.Close)
	defer func() {
		if stop() {
			s.Close()
		}
	}()
	for {
		msgs, _, err := s.Receive()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			onDelete()
			continue
		case err != nil:
			return fmt.Errorf("iproute: watch deletions: %w", err)
		}
		if deleted(msgs) {
			onDelete()
		}
	}
}

// subscribeDeletions opens WatchDeletions' socket in the calling thread's
// namespace, with deletionFilter attached (best effort: without it, every
// message is read and the deletions picked out by deleted).
func subscribeDeletions() (*nl.NetlinkSocket, error) {
	s, err := nl.Subscribe(unix.NETLINK_ROUTE,
		unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
		unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
		unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return nil, fmt.Errorf("iproute: subscribe to deletions: %w", err)
	}
	if prog, err := bpf.Assemble(deletionFilter()); err == nil {
		_ = unix.SetsockoptSockFprog(s.GetFd(), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))})
	}
	return s, nil
}

// deletionFilter is a socket filter that lets through only the
// notifications of a deletion (RTM_DELADDR, RTM_DELROUTE, RTM_DELRULE; the
// kernel sends each notification in a buffer of its own): the addresses
// and routes added by a VRRP takeover (RTM_NEWADDR and the kernel's local
// routes, between the new master's first advert and its first gratuitous
// ARP) then no longer wake the watching goroutine's thread, which took the
// CPU from the VRRP thread on its way to the GARP. keepalived reads its
// netlink socket on its one thread, after the GARPs.
func deletionFilter() []bpf.Instruction {
	typ := func(t uint16) uint32 { // nlmsg_type as the filter loads it: big-endian
		var b [2]byte
		binary.NativeEndian.PutUint16(b[:], t)
		return uint32(binary.BigEndian.Uint16(b[:]))
	}
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 2}, // struct nlmsghdr's nlmsg_type
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: typ(unix.RTM_DELADDR), SkipTrue: 3},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: typ(unix.RTM_DELROUTE), SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: typ(unix.RTM_DELRULE), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: 0xffffffff},
	}
}

func deleted(msgs []syscall.NetlinkMessage) bool {
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_DELADDR, unix.RTM_DELROUTE, unix.RTM_DELRULE:
			return true
		}
	}
	return false
}
