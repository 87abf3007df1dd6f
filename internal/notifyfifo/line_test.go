package notifyfifo

import (
	"net/netip"
	"testing"
)

// The expected lines are keepalived 2.2.7's snprintf formats:
// vrrp_notify.c notify_fifo: "%s \"%s\" %s %d\n" (type, name, state, priority),
// check/ipwrapper.c notify_fifo_vs: "VS %s %s\n" (FMT_VS, UP|DOWN) and
// notify_fifo_rs: "RS %s %s %s\n" (FMT_RS, FMT_VS, UP|DOWN), with
// lib/utils.c inet_sockaddrtotrio_r's "[%s]:%s:%d" and check_data.c
// format_vs's "[%s]:%d" (group) and "FWM %u".
func TestLineFormatsAreKeepalived(t *testing.T) {
	vs := VSName(netip.MustParseAddr("10.0.0.1"), "TCP", 80, 0, false, "")
	rs := Trio(netip.MustParseAddr("192.168.1.2"), "TCP", 8080)
	for _, c := range []struct{ got, want string }{
		{VRRPLine(KindInstance, "VI_1", "MASTER", 100), "INSTANCE \"VI_1\" MASTER 100\n"},
		{VRRPLine(KindInstance, "VI_1", "backup", 90), "INSTANCE \"VI_1\" BACKUP 90\n"},
		{VRRPLine(KindGroup, "G1", "FAULT", 100), "GROUP \"G1\" FAULT 0\n"},
		{VRRPLine(KindInstance, "VI_1", StateMasterRxLowerPri, 100), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"},
		{VRRPLine(KindInstance, "VI_1", "STOP", 0), "INSTANCE \"VI_1\" STOP 0\n"},
		{VSLine(vs, true), "VS [10.0.0.1]:tcp:80 UP\n"},
		{RSLine(rs, vs, false), "RS [192.168.1.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n"},
		{VSLine(VSName(netip.Addr{}, "", 0, 7, true, ""), false), "VS FWM 7 DOWN\n"},
		{RSLine(Trio(netip.MustParseAddr("192.168.1.2"), "", 0), "FWM 7", true), "RS [192.168.1.2]:none:0 FWM 7 UP\n"},
		{VSLine(VSName(netip.Addr{}, "UDP", 0, 0, false, "web"), true), "VS [web]:0 UP\n"},
		{VSLine(VSName(netip.MustParseAddr("2001:db8::1"), "SCTP", 443, 0, false, ""), true), "VS [2001:db8::1]:sctp:443 UP\n"},
		{RSLine(Trio(netip.MustParseAddr("::ffff:192.168.1.3"), "UDP", 53), "[10.0.0.1]:udp:53", true), "RS [192.168.1.3]:udp:53 [10.0.0.1]:udp:53 UP\n"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
