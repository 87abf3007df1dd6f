package notifyfifo

import (
	"fmt"
	"net/netip"
	"strings"
)

// VRRP kinds.
const (
	KindInstance = "INSTANCE"
	KindGroup    = "GROUP"
)

// StateMasterRxLowerPri is the event keepalived writes when a master receives
// an advert of lower priority (send_event_notify).
const StateMasterRxLowerPri = "MASTER_RX_LOWER_PRI"

// VRRPLine is keepalived's notify_fifo line for an instance or sync group:
//
//	INSTANCE "VI_1" MASTER 100
//
// kind is KindInstance or KindGroup (a group's priority is always 0), state one
// of MASTER, BACKUP, FAULT, STOP, DELETED or StateMasterRxLowerPri.
func VRRPLine(kind, name, state string, priority int) string {
	if kind == KindGroup {
		priority = 0
	}
	return fmt.Sprintf("%s \"%s\" %s %d\n", strings.ToUpper(kind), name, strings.ToUpper(state), priority)
}

// Trio is keepalived's inet_sockaddrtotrio: [ADDR]:PROTO:PORT, with proto
// "tcp", "udp", "sctp", or "none" when empty (a fwmark service).
func Trio(addr netip.Addr, proto string, port uint16) string {
	p := strings.ToLower(proto)
	if p == "" {
		p = "none"
	}
	return fmt.Sprintf("[%s]:%s:%d", addr.Unmap().WithZone(""), p, port)
}

// VSName is keepalived's format_vs: "[GROUP]:0" for a virtual_server_group
// (keepalived prints the unset port of the group's address), "FWM N" for a
// fwmark service, else Trio.
func VSName(addr netip.Addr, proto string, port uint16, fwmark uint32, isFWMark bool, group string) string {
	switch {
	case group != "":
		return fmt.Sprintf("[%s]:0", group)
	case isFWMark:
		return fmt.Sprintf("FWM %d", fwmark)
	}
	return Trio(addr, proto, port)
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// VSLine is keepalived's notify_fifo_vs line for a virtual server's quorum:
//
//	VS [10.0.0.1]:tcp:80 UP
func VSLine(vs string, up bool) string {
	return fmt.Sprintf("VS %s %s\n", vs, upDown(up))
}

// RSLine is keepalived's notify_fifo_rs line for a real server (rs from Trio,
// with the virtual server's protocol; vs from VSName):
//
//	RS [192.168.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN
func RSLine(rs, vs string, up bool) string {
	return fmt.Sprintf("RS %s %s %s\n", rs, vs, upDown(up))
}
