package mail

import "fmt"

// Alert is one e-mail: keepalived's subject (router_id prefixed) and body.
type Alert struct {
	Subject string
	Body    string
}

// VRRP states as keepalived words them in alerts.
const (
	Master = "MASTER"
	Backup = "BACKUP"
	Fault  = "FAULT"
)

// Instance is vrrp_smtp_notifier's alert for a vrrp_instance entering state
// (MASTER, BACKUP or FAULT; ok false for any other):
//
//	[router_id] VRRP Instance VI_1 - Entering MASTER state
//	=> VRRP Instance is now owning VRRP VIPs <=
func Instance(routerID, name, state string) (Alert, bool) {
	var body string
	switch state {
	case Master:
		body = "=> VRRP Instance is now owning VRRP VIPs <="
	case Backup, Fault:
		body = "=> VRRP Instance is nolonger owning VRRP VIPs <="
	default:
		return Alert{}, false
	}
	return Alert{fmt.Sprintf("[%s] VRRP Instance %s - Entering %s state", routerID, name, state), body}, true
}

// Group is vrrp_sync_group_smtp_notifier's alert for a sync group:
//
//	[router_id] VRRP Group VG_1 - Entering MASTER state
//	=> All VRRP group instances are now in MASTER state <=
func Group(routerID, name, state string) (Alert, bool) {
	switch state {
	case Master, Backup, Fault:
	default:
		return Alert{}, false
	}
	return Alert{fmt.Sprintf("[%s] VRRP Group %s - Entering %s state", routerID, name, state),
		fmt.Sprintf("=> All VRRP group instances are now in %s state <=", state)}, true
}

// RealServer is a checker's SMTP_MSG_RS alert (rs and vs as keepalived's
// FMT_RS and FMT_VS, internal/notifyfifo.Trio and VSName). The subject's word
// is the real server's state (rsUp), the body the checker's own transition
// (CheckerBody):
//
//	[router_id] Realserver [10.0.0.1]:tcp:80 of virtual server [192.168.1.2]:tcp:80 - DOWN
//	=> TCP CHECK failed on service <=
func RealServer(routerID, rs, vs string, rsUp bool, body string) Alert {
	word := "DOWN"
	if rsUp {
		word = "UP"
	}
	return Alert{fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", routerID, rs, vs, word), body}
}

// CheckerBody is the body keepalived 2.2.7's checker of kind (TCP_CHECK,
// HTTP_GET...) mails when it goes up or down (timedOut: a MISC_CHECK script
// killed at misc_timeout), each worded as its check_*.c does.
func CheckerBody(kind string, up, timedOut bool) string {
	verb := "failed"
	if up {
		verb = "succeed"
	}
	switch kind {
	case "TCP_CHECK":
		return "=> TCP CHECK " + verb + " on service <="
	case "UDP_CHECK":
		return "=> UDP CHECK " + verb + " on service <="
	case "PING_CHECK":
		return "=> ICMP CHECK " + verb + " on service <="
	case "DNS_CHECK":
		return "=> DNS_CHECK: " + verb + " on service <="
	case "MISC_CHECK":
		switch {
		case up:
			verb = "succeeded"
		case timedOut:
			verb = "timed out"
		}
		return "=> MISC CHECK " + verb + " on service <="
	case "HTTP_GET", "SSL_GET":
		if !up {
			return "=> CHECK failed on service : HTTP request failed <="
		}
	}
	return "=> CHECK " + verb + " on service <=" // SMTP_CHECK, HTTP_GET/SSL_GET up
}

// VirtualServer is do_vs_notifies' SMTP_MSG_VS alert on a quorum change
// (threshold is quorum ± hysteresis as keepalived computes it, sum the live
// weight):
//
//	[router_id] Virtualserver [192.168.1.2]:tcp:80 - DOWN
//	=> Lost quorum 2+0=2 <= 1 <=
func VirtualServer(routerID, vs string, up bool, quorum, hysteresis uint32, threshold int64, sum uint64) Alert {
	word, what := "DOWN", "Lost quorum"
	if up {
		word, what = "UP", "Gained quorum"
	}
	return Alert{fmt.Sprintf("[%s] Virtualserver %s - %s", routerID, vs, word),
		fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, quorum, hysteresis, threshold, sum)}
}
