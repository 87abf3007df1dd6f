package iproute

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink/nl"
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
	s, err := nl.Subscribe(unix.NETLINK_ROUTE,
		unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
		unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
		unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return fmt.Errorf("iproute: subscribe to deletions: %w", err)
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

func deleted(msgs []syscall.NetlinkMessage) bool {
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_DELADDR, unix.RTM_DELROUTE, unix.RTM_DELRULE:
			return true
		}
	}
	return false
}
