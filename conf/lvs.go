package conf

import (
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// Schedulers are the IPVS schedulers keepalived (and the kernel) know.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

const (
	maxWeight    = math.MaxInt32
	defaultSched = "wlc"
)

// ---- virtual_server_group ------------------------------------------------

func (l *loader) vsgBlock(n *syntax.Node, c *Config) {
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	if prev := l.vsgs[name.Text]; prev != nil {
		l.duplicate("virtual_server_group", name, prev.Pos)
		return
	}
	g := &VirtualServerGroup{Name: name.Text, Pos: name.Pos, Entries: []VSGEntry{}}
	l.valueLines(n, func(c *syntax.Node) {
		if e, ok := l.vsgEntry(c); ok {
			g.Entries = append(g.Entries, e)
		}
	})
	if len(g.Entries) == 0 {
		l.warnf(name.Pos, "virtual_server_group %q has no entries", name.Text)
	}
	l.vsgs[name.Text] = g
	c.VirtualServerGroups = append(c.VirtualServerGroups, g)
}

func (l *loader) vsgEntry(c *syntax.Node) (VSGEntry, bool) {
	e := VSGEntry{Pos: c.Keyword.Pos}
	if c.Keyword.Text == "fwmark" {
		if !l.nargs(c, 1, 2) {
			return e, false
		}
		v, ok := l.uint(c.Args[0], "fwmark", 0, math.MaxUint32)
		if !ok {
			return e, false
		}
		e.FWMark, e.IsFWMark = uint32(v), true
		if len(c.Args) > 1 {
			switch c.Args[1].Text {
			case "inet":
				e.FWMFamily = Inet
			case "inet6":
				e.FWMFamily = Inet6
			default:
				l.errf(c.Args[1].Pos, "unknown fwmark family %q: want inet or inet6", c.Args[1].Text)
				return e, false
			}
		}
		return e, true
	}
	if len(c.Args) > 2 {
		l.warnf(c.Args[2].Pos, "extra arguments ignored")
	}
	first, last, ok := l.addrRange(c.Keyword)
	if !ok {
		return e, false
	}
	e.First, e.Last = first, last
	if len(c.Args) > 0 {
		p, ok := l.port(c.Args[0], "port", 0)
		if !ok {
			return e, false
		}
		e.Port = p
	}
	return e, true
}

// addrRange parses IP, IP-LASTOCTET/GROUP, IP-IP or IP/LEN.
func (l *loader) addrRange(w syntax.Word) (netip.Addr, netip.Addr, bool) {
	bad := func(why string) (netip.Addr, netip.Addr, bool) {
		l.errf(w.Pos, "invalid virtual server group address %q: %s", w.Text, why)
		return netip.Addr{}, netip.Addr{}, false
	}
	s := w.Text
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Bits() == 0 {
			return bad("zero-length mask")
		}
		if p.Masked() != p {
			return bad("address mask bits not empty")
		}
		first := p.Addr().Unmap()
		return first, lastOf(p), true
	}
	if strings.Contains(s, "/") {
		return bad("not an address/prefix")
	}
	base, end, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(base)
	if err != nil || first.Zone() != "" {
		return bad("not an IP address")
	}
	first = first.Unmap()
	if !isRange {
		return first, first, true
	}
	var last netip.Addr
	if (first.Is4() && strings.Contains(end, ".")) || (first.Is6() && strings.Contains(end, ":")) {
		last, err = netip.ParseAddr(end)
		if err != nil {
			return bad("invalid range end")
		}
		last = last.Unmap()
		if last.Is4() != first.Is4() {
			return bad("range address families differ")
		}
	} else {
		// The range end replaces the last group (decimal octet / hex group).
		base := 10
		if first.Is6() {
			base = 16
		}
		v, err := strconv.ParseUint(end, base, 16)
		if err != nil {
			return bad("invalid range end")
		}
		if first.Is4() {
			if v > 255 {
				return bad("range end > 255")
			}
			b := first.As4()
			b[3] = byte(v)
			last = netip.AddrFrom4(b)
		} else {
			b := first.As16()
			b[14], b[15] = byte(v>>8), byte(v)
			last = netip.AddrFrom16(b)
		}
	}
	if last.Less(first) {
		return bad("range end before start")
	}
	if first.Is4() {
		a, b := first.As4(), last.As4()
		if a[0] != b[0] || a[1] != b[1] || a[2] != b[2] {
			return bad("range may only vary the last octet")
		}
	} else {
		a, b := first.As16(), last.As16()
		if string(a[:14]) != string(b[:14]) {
			return bad("range may only vary the last group")
		}
	}
	return first, last, true
}

func lastOf(p netip.Prefix) netip.Addr {
	a := p.Addr().Unmap()
	b := a.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// ---- virtual_server ------------------------------------------------------

var (
	vsTable *table[*VirtualServer]
	rsTable *table[*RealServer]
)

type vsT = VirtualServer
type rsT = RealServer

func init() {
	vsTable = newTable("virtual_server", []keyword[*vsT]{
		impl("lvs_sched", "scheduler: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos", "wlc", (*loader).vsSched),
		alias("lb_algo", "lvs_sched", false, (*loader).vsSched),
		impl("lvs_method", "forwarding: NAT | DR | TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]", "NAT", func(l *loader, n *syntax.Node, v *vsT) {
			if f, ok := l.forwarding(n); ok {
				v.Forwarding, v.fwdSet = f, true
			}
		}),
		alias("lb_kind", "lvs_method", false, func(l *loader, n *syntax.Node, v *vsT) {
			vsTable.index["lvs_method"].fn(l, n, v)
		}),
		impl("protocol", "TCP, UDP or SCTP", "UDP, with a warning (as keepalived)", func(l *loader, n *syntax.Node, v *vsT) {
			s, ok := l.stringArg(n)
			if !ok {
				return
			}
			switch strings.ToUpper(s) {
			case "TCP":
				v.Protocol = TCP
			case "UDP":
				v.Protocol = UDP
			case "SCTP":
				v.Protocol = SCTP
			default:
				l.errf(n.Args[0].Pos, "unknown protocol %q: want TCP, UDP or SCTP", s)
			}
		}),
		impl("ops", "one-packet scheduling (UDP)", "off", func(l *loader, n *syntax.Node, v *vsT) { v.OnePacket = l.flag(n) }),
		impl("flag-1", "scheduler flag 1", "off", vsSchedFlag),
		impl("flag-2", "scheduler flag 2", "off", vsSchedFlag),
		impl("flag-3", "scheduler flag 3", "off", vsSchedFlag),
		impl("sh-port", "sh: include the port in the hash", "off", vsSchedFlag),
		impl("sh-fallback", "sh: fall back to another server", "off", vsSchedFlag),
		impl("mh-port", "mh: include the port in the hash", "off", vsSchedFlag),
		impl("mh-fallback", "mh: fall back to another server", "off", vsSchedFlag),
		impl("persistence_timeout", "persistence timeout, seconds (bare keyword: 360)", "0 (no persistence)", func(l *loader, n *syntax.Node, v *vsT) {
			if len(n.Args) == 0 {
				v.PersistenceTimeout = seconds(360)
				return
			}
			if d, ok := l.wholeSecondsArg(n, 1, 86400*31); ok {
				v.PersistenceTimeout = d
			}
		}),
		impl("persistence_granularity", "persistence netmask (IPv4) or prefix length (IPv6)", "", func(l *loader, n *syntax.Node, v *vsT) {
			s, ok := l.stringArg(n)
			if !ok {
				return
			}
			if strings.Contains(s, ".") {
				if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
					l.errf(n.Args[0].Pos, "invalid IPv4 persistence_granularity %q", s)
					return
				}
			} else if _, ok := l.uint(n.Args[0], "IPv6 persistence_granularity", 1, 128); !ok {
				return
			}
			v.PersistenceGranularity = s
		}),
		impl("persistence_engine", "persistence engine (sip)", "", func(l *loader, n *syntax.Node, v *vsT) {
			if s, ok := l.stringArg(n); ok {
				v.PersistenceEngine = s
			}
		}),
		impl("ha_suspend", "suspend checkers while the VIP is absent", "off", func(l *loader, n *syntax.Node, v *vsT) { v.HASuspend = l.flag(n) }),
		impl("alpha", "real servers start down until checked", "off", func(l *loader, n *syntax.Node, v *vsT) { v.Alpha = l.flag(n) }),
		impl("omega", "run quorum/down notifiers at shutdown", "off", func(l *loader, n *syntax.Node, v *vsT) { v.Omega = l.flag(n) }),
		impl("quorum", "minimum total weight of live servers", "1", func(l *loader, n *syntax.Node, v *vsT) {
			if x, ok := l.uintArg(n, 1, math.MaxUint32); ok {
				v.Quorum = uint32(x)
			}
		}),
		impl("hysteresis", "quorum flap dampener", "0", func(l *loader, n *syntax.Node, v *vsT) {
			if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
				v.Hysteresis = uint32(x)
			}
		}),
		impl("quorum_up", "script run when quorum is gained", "", func(l *loader, n *syntax.Node, v *vsT) { v.QuorumUp = l.script(n) }),
		impl("quorum_down", "script run when quorum is lost", "", func(l *loader, n *syntax.Node, v *vsT) { v.QuorumDown = l.script(n) }),
		impl("smtp_alert", "e-mail on quorum transitions", "smtp_alert_checker, else smtp_alert, else off", func(l *loader, n *syntax.Node, v *vsT) {
			if b, ok := l.boolArg(n); ok {
				v.smtpAlert = &b
			}
		}),
		impl("virtualhost", "default Host: for HTTP_GET/SSL_GET", "", func(l *loader, n *syntax.Node, v *vsT) {
			if s, ok := l.stringArg(n); ok {
				v.Virtualhost = s
			}
		}),
		impl("ip_family", "family of a fwmark service: inet or inet6", "inet", func(l *loader, n *syntax.Node, v *vsT) {
			s, ok := l.stringArg(n)
			if !ok {
				return
			}
			switch s {
			case "inet":
				v.ipFamily = Inet
			case "inet6":
				v.ipFamily = Inet6
			default:
				l.errf(n.Args[0].Pos, "unknown address family %q: want inet or inet6", s)
				return
			}
			if v.Family != "" && v.Family != v.ipFamily {
				l.errf(n.Args[0].Pos, "ip_family %s conflicts with the virtual server's address family", s)
			}
		}),
		impl("delay_loop", "seconds between checks", "60", func(l *loader, n *syntax.Node, v *vsT) {
			if d, ok := l.timerArg(n, Duration(1e3), 0); ok {
				v.DelayLoop = d
			}
		}),
		impl("connect_timeout", "checker connection timeout, seconds", "5", func(l *loader, n *syntax.Node, v *vsT) {
			if d, ok := l.timerArg(n, Duration(1e3), maxMicros); ok {
				v.ConnectTimeout = d
			}
		}),
		impl("retry", "checker retries before failure", "per checker: 1 (DNS_CHECK 3, MISC_CHECK 0)", func(l *loader, n *syntax.Node, v *vsT) {
			if x, ok := l.uintArg(n, 1, math.MaxUint32); ok {
				r := int(x)
				v.retry = &r
			}
		}),
		impl("delay_before_retry", "delay before a retry, seconds", "per checker: 1 (HTTP/SSL 3, DNS delay_loop)", func(l *loader, n *syntax.Node, v *vsT) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				v.delayBeforeRetry = &d
			}
		}),
		impl("warmup", "random delay up to this before the first check, seconds", "delay_loop", func(l *loader, n *syntax.Node, v *vsT) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				v.warmup = &d
			}
		}),
		impl("inhibit_on_failure", "set weight 0 instead of removing failed servers", "off", func(l *loader, n *syntax.Node, v *vsT) { v.InhibitOnFailure = l.flag(n) }),
		impl("bgp_announce", "lvs-ha extension: announce the VIP over bgp_speaker while at least N real servers are healthy; failed real servers go to weight 0: [min_healthy N]", "off (min_healthy 1)", (*loader).bgpAnnounce),
		impl("weight", "default real server weight", "1", func(l *loader, n *syntax.Node, v *vsT) {
			if x, ok := l.uintArg(n, 1, maxWeight); ok {
				v.Weight = int(x)
			}
		}),
		impl("sorry_server", "server used when quorum is lost: IP [PORT]", "", func(l *loader, n *syntax.Node, v *vsT) {
			if !l.nargs(n, 1, 2) {
				return
			}
			a, ok := l.ip(n.Args[0], "sorry_server address")
			if !ok {
				return
			}
			s := &SorryServer{Addr: a, Pos: n.Keyword.Pos}
			if len(n.Args) > 1 {
				if s.Port, ok = l.port(n.Args[1], "sorry_server port", 0); !ok {
					return
				}
			}
			if v.SorryServer != nil {
				s.Inhibit, s.Forwarding, s.fwdSet = v.SorryServer.Inhibit, v.SorryServer.Forwarding, v.SorryServer.fwdSet
			}
			v.SorryServer = s
		}),
		impl("sorry_server_inhibit", "inhibit_on_failure for the sorry server", "off", func(l *loader, n *syntax.Node, v *vsT) {
			l.flag(n)
			if v.SorryServer == nil {
				l.errf(n.Keyword.Pos, "sorry_server_inhibit used before or without sorry_server")
				return
			}
			v.SorryServer.Inhibit = true
		}),
		impl("sorry_server_lvs_method", "forwarding method of the sorry server", "lvs_method", func(l *loader, n *syntax.Node, v *vsT) {
			f, ok := l.forwarding(n)
			if !ok {
				return
			}
			if v.SorryServer == nil {
				l.errf(n.Keyword.Pos, "sorry_server_lvs_method used before or without sorry_server")
				return
			}
			v.SorryServer.Forwarding, v.SorryServer.fwdSet = f, true
		}),
		implBlock("real_server", "a real server: real_server IP [PORT] { ... }", "", (*loader).realServerBlock),
		ignored[*vsT]("hashed", "legacy scheduler flag"),
		ignored[*vsT]("snmp_name", "name reported over SNMP"),
	})

	rsTable = newTable("real_server", []keyword[*rsT]{
		impl("weight", "IPVS weight", "virtual_server weight", func(l *loader, n *syntax.Node, r *rsT) {
			if x, ok := l.uintArg(n, 0, maxWeight); ok {
				w := int(x)
				r.weight = &w
			}
		}),
		impl("lvs_method", "forwarding method", "virtual_server lvs_method", func(l *loader, n *syntax.Node, r *rsT) {
			if f, ok := l.forwarding(n); ok {
				r.Forwarding, r.fwdSet = f, true
			}
		}),
		alias("lb_kind", "lvs_method", false, func(l *loader, n *syntax.Node, r *rsT) { rsTable.index["lvs_method"].fn(l, n, r) }),
		impl("uthreshold", "maximum connections", "0 (none)", func(l *loader, n *syntax.Node, r *rsT) {
			if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
				r.UThreshold = uint32(x)
			}
		}),
		impl("lthreshold", "minimum connections", "0 (none)", func(l *loader, n *syntax.Node, r *rsT) {
			if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
				r.LThreshold = uint32(x)
			}
		}),
		impl("inhibit_on_failure", "set weight 0 instead of removing on failure", "virtual_server inhibit_on_failure", func(l *loader, n *syntax.Node, r *rsT) {
			if b, ok := l.boolArg(n); ok {
				r.inhibit = &b
			}
		}),
		impl("notify_up", "script run when the server comes up", "", func(l *loader, n *syntax.Node, r *rsT) { r.NotifyUp = l.script(n) }),
		impl("notify_down", "script run when the server goes down", "", func(l *loader, n *syntax.Node, r *rsT) { r.NotifyDown = l.script(n) }),
		impl("alpha", "start down until checked", "virtual_server alpha", func(l *loader, n *syntax.Node, r *rsT) {
			if b, ok := l.boolArg(n); ok {
				r.alpha = &b
			}
		}),
		impl("retry", "checker retries", "virtual_server retry", func(l *loader, n *syntax.Node, r *rsT) {
			if x, ok := l.uintArg(n, 1, math.MaxUint32); ok {
				v := int(x)
				r.retry = &v
			}
		}),
		impl("delay_before_retry", "delay before a retry, seconds", "virtual_server delay_before_retry", func(l *loader, n *syntax.Node, r *rsT) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				r.delayBeforeRetry = &d
			}
		}),
		impl("warmup", "random initial delay, seconds", "virtual_server warmup", func(l *loader, n *syntax.Node, r *rsT) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				r.warmup = &d
			}
		}),
		impl("connect_timeout", "checker connection timeout, seconds", "virtual_server connect_timeout", func(l *loader, n *syntax.Node, r *rsT) {
			if d, ok := l.timerArg(n, Duration(1e3), maxMicros); ok {
				r.connectTimeout = &d
			}
		}),
		impl("delay_loop", "seconds between checks", "virtual_server delay_loop", func(l *loader, n *syntax.Node, r *rsT) {
			if d, ok := l.timerArg(n, Duration(1e3), 0); ok {
				r.delayLoop = &d
			}
		}),
		impl("smtp_alert", "e-mail on state changes", "smtp_alert_checker, else smtp_alert, else on", func(l *loader, n *syntax.Node, r *rsT) {
			if b, ok := l.boolArg(n); ok {
				r.smtpAlert = &b
			}
		}),
		impl("virtualhost", "default Host: for HTTP_GET/SSL_GET", "virtual_server virtualhost", func(l *loader, n *syntax.Node, r *rsT) {
			if s, ok := l.stringArg(n); ok {
				r.Virtualhost = s
			}
		}),
		implBlock("TCP_CHECK", "TCP connect check", "", checkerFn(TCPCheck)),
		implBlock("HTTP_GET", "HTTP GET check", "", checkerFn(HTTPGet)),
		implBlock("SSL_GET", "HTTPS GET check", "", checkerFn(SSLGet)),
		implBlock("SMTP_CHECK", "SMTP HELO check", "", checkerFn(SMTPCheck)),
		implBlock("DNS_CHECK", "DNS query check (UDP)", "", checkerFn(DNSCheck)),
		implBlock("MISC_CHECK", "external script check", "", checkerFn(MiscCheck)),
		implBlock("UDP_CHECK", "UDP probe check", "", checkerFn(UDPCheck)),
		implBlock("PING_CHECK", "ICMP echo check", "", checkerFn(PingCheck)),
		ignored[*rsT]("BFD_CHECK", "BFD session state check"),
		ignored[*rsT]("FILE_CHECK", "track_file value check"),
		ignored[*rsT]("snmp_name", "name reported over SNMP"),
	})
}

// checkerNames are the checker blocks counted in Counts.Checkers.
var checkerNames = map[string]bool{
	"TCP_CHECK": true, "HTTP_GET": true, "SSL_GET": true, "SMTP_CHECK": true, "DNS_CHECK": true,
	"MISC_CHECK": true, "UDP_CHECK": true, "PING_CHECK": true, "BFD_CHECK": true, "FILE_CHECK": true,
}

func (l *loader) vsSched(n *syntax.Node, v *vsT) {
	s, ok := l.stringArg(n)
	if !ok {
		return
	}
	for _, k := range Schedulers {
		if s == k {
			v.Scheduler, v.schedSet = s, true
			return
		}
	}
	l.errf(n.Args[0].Pos, "unknown scheduler %q: want one of %s", s, strings.Join(Schedulers, " "))
}

func vsSchedFlag(l *loader, n *syntax.Node, v *vsT) {
	l.flag(n)
	for _, f := range v.SchedFlags {
		if f == n.Keyword.Text {
			return
		}
	}
	v.SchedFlags = append(v.SchedFlags, n.Keyword.Text)
}

// forwarding parses `lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
func (l *loader) forwarding(n *syntax.Node) (Forwarding, bool) {
	var f Forwarding
	if !l.nargs(n, 1, -1) {
		return f, false
	}
	m := n.Args[0]
	switch m.Text {
	case "NAT", "DR", "TUN":
		f.Method = m.Text
	default:
		l.errf(m.Pos, "unknown forwarding method %q: want NAT, DR or TUN", m.Text)
		return f, false
	}
	rest := n.Args[1:]
	if f.Method != "TUN" {
		if len(rest) > 0 {
			l.errf(rest[0].Pos, "tunnel options are only valid with TUN")
			return f, false
		}
		return f, true
	}
	f.TunnelType = "ipip"
	csumSet := false
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		switch w.Text {
		case "type":
			if i+1 >= len(rest) {
				l.errf(w.Pos, "missing tunnel type")
				return f, false
			}
			i++
			switch rest[i].Text {
			case "ipip", "gue", "gre":
				f.TunnelType = rest[i].Text
			default:
				l.errf(rest[i].Pos, "unknown tunnel type %q: want ipip, gue or gre", rest[i].Text)
				return f, false
			}
		case "port":
			if i+1 >= len(rest) {
				l.errf(w.Pos, "missing gue tunnel port")
				return f, false
			}
			i++
			p, ok := l.port(rest[i], "gue tunnel port", 1)
			if !ok {
				return f, false
			}
			f.TunnelPort = p
		case "nocsum", "csum", "remcsum":
			f.TunnelCsum, csumSet = w.Text, true
		default:
			l.errf(w.Pos, "invalid tunnel option %q", w.Text)
			return f, false
		}
	}
	if (f.TunnelType == "gue") != (f.TunnelPort != 0) {
		l.errf(m.Pos, "gue tunnels require a port, other tunnel types cannot have one")
		return f, false
	}
	if f.TunnelType == "ipip" && csumSet && f.TunnelCsum != "nocsum" {
		l.errf(m.Pos, "ipip tunnels do not support checksum options")
		return f, false
	}
	if f.TunnelType == "gre" && f.TunnelCsum == "remcsum" {
		l.errf(m.Pos, "gre tunnels do not support remote checksum")
		return f, false
	}
	if f.TunnelCsum == "" {
		f.TunnelCsum = "nocsum"
	}
	return f, true
}

func (l *loader) virtualServerBlock(n *syntax.Node, c *Config) {
	c.Counts.VirtualServers++
	v := &VirtualServer{
		Pos:            n.Keyword.Pos,
		Quorum:         1,
		DelayLoop:      seconds(60),
		ConnectTimeout: seconds(5),
		Weight:         1,
		RealServers:    []*RealServer{},
	}
	if !l.vsHeader(n, v) {
		// Still count what is inside so Counts match the file.
		for _, ch := range n.Children {
			if ch.Keyword.Text == "real_server" {
				c.Counts.RealServers++
				for _, k := range ch.Children {
					if checkerNames[k.Keyword.Text] {
						c.Counts.Checkers++
					}
				}
			}
		}
		return
	}
	walk(l, vsTable, n, v)
	c.VirtualServers = append(c.VirtualServers, v)
}

func (l *loader) vsHeader(n *syntax.Node, v *VirtualServer) bool {
	if len(n.Args) == 0 {
		l.errf(n.Keyword.Pos, "virtual_server needs IP [PORT], fwmark N or group NAME")
		return false
	}
	if len(n.Args) > 2 {
		l.warnf(n.Args[2].Pos, "extra arguments to virtual_server ignored")
	}
	switch n.Args[0].Text {
	case "group":
		if len(n.Args) < 2 {
			l.errf(n.Args[0].Pos, "virtual_server group needs a name")
			return false
		}
		v.Group, v.groupWord = n.Args[1].Text, n.Args[1]
		return true
	case "fwmark":
		if len(n.Args) < 2 {
			l.errf(n.Args[0].Pos, "virtual_server fwmark needs a mark")
			return false
		}
		x, ok := l.uint(n.Args[1], "virtual_server fwmark", 0, math.MaxUint32)
		if !ok {
			return false
		}
		v.FWMark, v.IsFWMark = uint32(x), true
		return true
	}
	a, ok := l.ip(n.Args[0], "virtual_server address")
	if !ok {
		return false
	}
	v.Addr, v.Family = a, familyOf(a)
	if len(n.Args) > 1 {
		p, ok := l.port(n.Args[1], "virtual_server port", 0)
		if !ok {
			return false
		}
		v.Port = p
	}
	return true
}

func (l *loader) realServerBlock(n *syntax.Node, v *VirtualServer) {
	l.cfg.Counts.RealServers++
	for _, k := range n.Children {
		if checkerNames[k.Keyword.Text] {
			l.cfg.Counts.Checkers++
		}
	}
	if !l.nargs(n, 1, 2) {
		return
	}
	a, ok := l.ip(n.Args[0], "real_server address")
	if !ok {
		return
	}
	r := &RealServer{Addr: a, Pos: n.Keyword.Pos, Checkers: []*Checker{}}
	if len(n.Args) > 1 {
		if r.Port, ok = l.port(n.Args[1], "real_server port", 0); !ok {
			return
		}
	}
	walk(l, rsTable, n, r)
	v.RealServers = append(v.RealServers, r)
}

// ---- checkers ------------------------------------------------------------

var (
	checkerTables = map[CheckerType]*table[*Checker]{}
	urlTable      *table[*URL]
	smtpHostTable *table[*smtpHost]
)

type smtpHost struct {
	co *ConnOpts
	ck *Checker
}

func checkerFn(t CheckerType) func(*loader, *syntax.Node, *rsT) {
	return func(l *loader, n *syntax.Node, r *rsT) {
		l.nargs(n, 0, 0)
		ck := &Checker{Type: t, Pos: n.Keyword.Pos}
		switch t {
		case HTTPGet, SSLGet:
			ck.HTTP = &HTTPCheck{Protocol: "1.0", URLs: []*URL{}}
		case SMTPCheck:
			ck.SMTP = &SMTPCheckOpts{}
		case DNSCheck:
			ck.DNS = &DNSCheckOpts{Type: "SOA", Name: "."}
		case MiscCheck:
			ck.Misc = &MiscCheckOpts{}
		case UDPCheck:
			ck.UDP = &UDPCheckOpts{MaxReplyLength: 255}
		}
		walk(l, checkerTables[t], n, ck)
		switch {
		case ck.HTTP != nil && len(ck.HTTP.URLs) == 0:
			l.errf(n.Keyword.Pos, "%s has no url", t)
			return
		case ck.Misc != nil && ck.Misc.Path == nil:
			l.errf(n.Keyword.Pos, "MISC_CHECK has no misc_path")
			return
		case ck.UDP != nil && ck.UDP.MinReplyLength > ck.UDP.MaxReplyLength:
			l.errf(n.Keyword.Pos, "UDP_CHECK min_reply_length %d > max_reply_length %d", ck.UDP.MinReplyLength, ck.UDP.MaxReplyLength)
			return
		}
		r.Checkers = append(r.Checkers, ck)
	}
}

// connKeywords are the connection options shared by checkers and SMTP hosts.
func connKeywords[T any](get func(T) *ConnOpts) []keyword[T] {
	return []keyword[T]{
		impl("connect_ip", "address to connect to", "real server address", func(l *loader, n *syntax.Node, t T) {
			co := get(t)
			a, ok := l.ipArg(n)
			if !ok {
				return
			}
			if co.BindTo.IsValid() && co.BindTo.Is4() != a.Is4() {
				l.errf(n.Args[0].Pos, "connect_ip %s does not match the address family of bindto", a)
				return
			}
			co.ConnectIP = a
		}),
		impl("connect_port", "port to connect to", "real server port", func(l *loader, n *syntax.Node, t T) {
			if p, ok := l.portArg(n); ok {
				get(t).ConnectPort = p
			}
		}),
		impl("bindto", "source address", "", func(l *loader, n *syntax.Node, t T) {
			co := get(t)
			a, ok := l.ipArg(n)
			if !ok {
				return
			}
			if co.ConnectIP.IsValid() && co.ConnectIP.Is4() != a.Is4() {
				l.errf(n.Args[0].Pos, "bindto %s does not match the address family of connect_ip", a)
				return
			}
			co.BindTo = a
		}),
		impl("bind_port", "source port", "", func(l *loader, n *syntax.Node, t T) {
			if p, ok := l.portArg(n); ok {
				get(t).BindPort = p
			}
		}),
		impl("bind_if", "source interface (needed for IPv6 link-local)", "", func(l *loader, n *syntax.Node, t T) {
			if s, ok := l.stringArg(n); ok {
				if len(s) >= 16 {
					l.errf(n.Args[0].Pos, "interface name %q too long", s)
					return
				}
				get(t).BindIf = s
			}
		}),
		impl("connect_timeout", "connection timeout, seconds", "real server connect_timeout", func(l *loader, n *syntax.Node, t T) {
			if d, ok := l.timerArg(n, Duration(1e3), maxMicros); ok {
				get(t).connectTimeout = &d
			}
		}),
		impl("fwmark", "mark for the checker's packets", "", func(l *loader, n *syntax.Node, t T) {
			if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
				get(t).FWMark = uint32(x)
			}
		}),
	}
}

// commonKeywords are the timing options of every checker.
func commonKeywords() []keyword[*Checker] {
	retry := func(l *loader, n *syntax.Node, ck *Checker) {
		if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
			r := int(x)
			ck.retry = &r
		}
	}
	return []keyword[*Checker]{
		impl("retry", "retries before failure", "1 (DNS_CHECK 3, MISC_CHECK 0)", retry),
		alias("nb_sock_retry", "retry", true, retry),
		impl("delay_before_retry", "delay before a retry, seconds", "1 (HTTP_GET/SSL_GET 3, DNS_CHECK delay_loop)", func(l *loader, n *syntax.Node, ck *Checker) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				ck.delayBeforeRetry = &d
			}
		}),
		impl("warmup", "random delay up to this before the first check, seconds", "delay_loop", func(l *loader, n *syntax.Node, ck *Checker) {
			if d, ok := l.timerArg(n, 0, 0); ok {
				ck.warmup = &d
			}
		}),
		impl("delay_loop", "seconds between checks", "real server delay_loop", func(l *loader, n *syntax.Node, ck *Checker) {
			if d, ok := l.timerArg(n, Duration(1e3), 0); ok {
				ck.delayLoop = &d
			}
		}),
		impl("alpha", "start down until checked", "real server alpha", func(l *loader, n *syntax.Node, ck *Checker) {
			if b, ok := l.boolArg(n); ok {
				ck.alpha = &b
			}
		}),
		impl("log_all_failures", "log every failure", "checker_log_all_failures", func(l *loader, n *syntax.Node, ck *Checker) {
			if b, ok := l.boolArg(n); ok {
				ck.LogAllFailures = b
			}
		}),
	}
}

func checkerTable(t CheckerType, conn bool, extra ...keyword[*Checker]) {
	var kws []keyword[*Checker]
	if conn {
		kws = append(kws, connKeywords(func(c *Checker) *ConnOpts { return &c.ConnOpts })...)
	}
	kws = append(kws, commonKeywords()...)
	kws = append(kws, extra...)
	checkerTables[t] = newTable(string(t), kws)
}

func init() {
	urlTable = newTable("url", []keyword[*URL]{
		impl("path", "path to GET", "", func(l *loader, n *syntax.Node, u *URL) {
			if s, ok := l.stringArg(n); ok {
				u.Path = s
			}
		}),
		impl("digest", "MD5 of the body (genhash), 32 hex digits", "", func(l *loader, n *syntax.Node, u *URL) {
			s, ok := l.stringArg(n)
			if !ok {
				return
			}
			if b, err := hex.DecodeString(s); err != nil || len(b) != 16 {
				l.errf(n.Args[0].Pos, "invalid digest %q: want 32 hex digits", s)
				return
			}
			u.Digest = strings.ToLower(s)
		}),
		impl("status_code", "accepted status codes: N or N-M, 100-599", "200-299", func(l *loader, n *syntax.Node, u *URL) {
			if !l.nargs(n, 1, -1) {
				return
			}
			for _, w := range n.Args {
				lo, hi, isRange := strings.Cut(w.Text, "-")
				a, err1 := strconv.Atoi(lo)
				b, err2 := a, error(nil)
				if isRange {
					b, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
					l.errf(w.Pos, "invalid HTTP status code %q: want N or N-M within 100-599", w.Text)
					continue
				}
				u.StatusCodes = append(u.StatusCodes, StatusRange{Min: a, Max: b})
			}
		}),
		impl("virtualhost", "Host: header", "checker virtualhost", func(l *loader, n *syntax.Node, u *URL) {
			if s, ok := l.stringArg(n); ok {
				u.Virtualhost = s
			}
		}),
		impl("regex", "regular expression the body must match", "", func(l *loader, n *syntax.Node, u *URL) {
			if s, ok := l.stringArg(n); ok {
				u.Regex = s
			}
		}),
		impl("regex_no_match", "the regex must not match", "off", func(l *loader, n *syntax.Node, u *URL) { u.RegexNoMatch = l.flag(n) }),
		impl("regex_options", "PCRE2 options", "", func(l *loader, n *syntax.Node, u *URL) {
			if l.nargs(n, 1, -1) {
				for _, w := range n.Args {
					u.RegexOptions = append(u.RegexOptions, w.Text)
				}
			}
		}),
		impl("regex_min_offset", "first body offset searched", "0", func(l *loader, n *syntax.Node, u *URL) {
			if x, ok := l.uintArg(n, 0, math.MaxInt32); ok {
				u.RegexMinOffset = int(x)
			}
		}),
		impl("regex_max_offset", "last body offset where a match may start", "0 (end)", func(l *loader, n *syntax.Node, u *URL) {
			if x, ok := l.uintArg(n, 0, math.MaxInt32); ok {
				u.RegexMaxOffset = int(x)
			}
		}),
		ignored[*URL]("regex_stack", "PCRE2 JIT stack sizes"),
		ignoredWhy[*URL]("tls_compliant", "send a TLS close_notify alert (SSL_GET, keepalived 2.3)", noteTLSCompliant),
	})

	httpExtra := func() []keyword[*Checker] {
		return []keyword[*Checker]{
			alias("nb_get_retry", "retry", true, func(l *loader, n *syntax.Node, ck *Checker) {
				if x, ok := l.uintArg(n, 0, math.MaxUint32); ok {
					r := int(x)
					ck.retry = &r
				}
			}),
			impl("virtualhost", "Host: header", "real server virtualhost", func(l *loader, n *syntax.Node, ck *Checker) {
				if s, ok := l.stringArg(n); ok {
					ck.HTTP.Virtualhost = s
				}
			}),
			impl("http_protocol", "HTTP version: 1.0, 1.0C (with Connection: close) or 1.1", "1.0", func(l *loader, n *syntax.Node, ck *Checker) {
				s, ok := l.stringArg(n)
				if !ok {
					return
				}
				switch s {
				case "1.0", "1.1", "1.0C":
					ck.HTTP.Protocol = s
				case "1.0c":
					ck.HTTP.Protocol = "1.0C"
				default:
					l.errf(n.Args[0].Pos, "invalid http_protocol %q: want 1.0, 1.0C or 1.1", s)
				}
			}),
			impl("enable_sni", "send SNI (SSL_GET)", "off", func(l *loader, n *syntax.Node, ck *Checker) { ck.HTTP.EnableSNI = l.flag(n) }),
			impl("sni_name", "TLS server name sent instead of the virtual host; implies enable_sni (keepalived after 2.4.3)", "", func(l *loader, n *syntax.Node, ck *Checker) {
				// keepalived: a name sets it; without one, it only
				// enables SNI (an error if a name was already given).
				if len(n.Args) == 0 {
					if ck.HTTP.SNIName != "" {
						l.warnf(n.Keyword.Pos, "sni_name already specified as %s - ignoring setting to default", ck.HTTP.SNIName)
						return
					}
				} else if s, ok := l.stringArg(n); ok {
					ck.HTTP.SNIName = s
				} else {
					return
				}
				ck.HTTP.EnableSNI = true
			}),
			impl("fast_recovery", "check all URLs without delay when recovering", "off", func(l *loader, n *syntax.Node, ck *Checker) {
				if b, ok := l.boolArg(n); ok {
					ck.HTTP.FastRecovery = b
				}
			}),
			implBlock("url", "a URL to check", "", func(l *loader, n *syntax.Node, ck *Checker) {
				l.nargs(n, 0, 0)
				u := &URL{Pos: n.Keyword.Pos}
				walk(l, urlTable, n, u)
				if u.Path == "" {
					l.errf(n.Keyword.Pos, "url has no path")
					return
				}
				if len(u.StatusCodes) == 0 {
					u.StatusCodes = []StatusRange{{200, 299}}
				}
				if u.Regex == "" && (u.RegexNoMatch || len(u.RegexOptions) > 0 || u.RegexMinOffset > 0 || u.RegexMaxOffset > 0) {
					l.warnf(n.Keyword.Pos, "regex parameters specified without regex (ignored)")
					u.RegexNoMatch, u.RegexOptions, u.RegexMinOffset, u.RegexMaxOffset = false, nil, 0, 0
				}
				ck.HTTP.URLs = append(ck.HTTP.URLs, u)
			}),
		}
	}
	checkerTable(TCPCheck, true)
	checkerTable(PingCheck, true)
	checkerTable(HTTPGet, true, httpExtra()...)
	checkerTable(SSLGet, true, append(httpExtra(), sslGetKeywords24()...)...)

	smtpHostTable = newTable("host", connKeywords(func(h *smtpHost) *ConnOpts { return h.co }))
	checkerTable(SMTPCheck, true,
		impl("helo_name", "name sent in HELO", "smtp_helo_name, else host name", func(l *loader, n *syntax.Node, ck *Checker) {
			if s, ok := l.stringArg(n); ok {
				ck.SMTP.HeloName = s
			}
		}),
		keyword[*Checker]{name: "host", meaning: "legacy: an extra connection target with its own connect_ip, connect_port, bindto...", status: parsed, block: true, deprecated: true,
			hint: "define one SMTP_CHECK per target instead",
			fn: func(l *loader, n *syntax.Node, ck *Checker) {
				l.nargs(n, 0, 0)
				co := ConnOpts{}
				walk(l, smtpHostTable, n, &smtpHost{co: &co, ck: ck})
				ck.SMTP.Hosts = append(ck.SMTP.Hosts, co)
			}},
	)
	checkerTable(DNSCheck, true,
		impl("type", "query type: A NS CNAME SOA MX TXT AAAA", "SOA", func(l *loader, n *syntax.Node, ck *Checker) {
			s, ok := l.stringArg(n)
			if !ok {
				return
			}
			switch u := strings.ToUpper(s); u {
			case "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA":
				ck.DNS.Type = u
			default:
				l.errf(n.Args[0].Pos, "unknown DNS_CHECK type %q: want A, NS, CNAME, SOA, MX, TXT or AAAA", s)
			}
		}),
		impl("name", "domain name queried", ".", func(l *loader, n *syntax.Node, ck *Checker) {
			if s, ok := l.stringArg(n); ok {
				ck.DNS.Name = s
			}
		}),
	)
	checkerTable(MiscCheck, false,
		impl("misc_path", "script to run: exit 0 means up", "", func(l *loader, n *syntax.Node, ck *Checker) {
			l.setCommand(n, &ck.Misc.Path)
		}),
		impl("misc_timeout", "script timeout, seconds", "delay_loop", func(l *loader, n *syntax.Node, ck *Checker) {
			if d, ok := l.wholeSecondsArg(n, 1, maxSecs); ok {
				ck.Misc.Timeout = d
			}
		}),
		impl("misc_dynamic", "exit status 2-255 sets the weight (status - 2)", "off", func(l *loader, n *syntax.Node, ck *Checker) { ck.Misc.Dynamic = l.flag(n) }),
		impl("user", "user [group] to run the script as", "script_user", func(l *loader, n *syntax.Node, ck *Checker) {
			if !l.nargs(n, 1, 2) {
				return
			}
			if ck.Misc.Path == nil {
				ck.Misc.Path = &Script{Pos: n.Keyword.Pos}
			}
			ck.Misc.Path.User = n.Args[0].Text
			if len(n.Args) > 1 {
				ck.Misc.Path.Group = n.Args[1].Text
			}
		}),
	)
	checkerTable(UDPCheck, true,
		impl("payload", "hex bytes to send", "random", func(l *loader, n *syntax.Node, ck *Checker) {
			if !l.nargs(n, 1, -1) {
				return
			}
			if h, ok := l.hexWords(n.Args, false); ok {
				ck.UDP.Payload = h
			}
		}),
		impl("require_reply", "a reply is needed, optionally matching hex bytes (x: any nibble)", "off", func(l *loader, n *syntax.Node, ck *Checker) {
			ck.UDP.RequireReply = true
			if len(n.Args) > 0 {
				if h, ok := l.hexWords(n.Args, true); ok {
					ck.UDP.ReplyPattern = h
				}
			}
		}),
		impl("min_reply_length", "minimum reply length", "0", func(l *loader, n *syntax.Node, ck *Checker) {
			if x, ok := l.uintArg(n, 0, 65535); ok {
				ck.UDP.MinReplyLength = int(x)
			}
		}),
		impl("max_reply_length", "maximum reply length", "255", func(l *loader, n *syntax.Node, ck *Checker) {
			if x, ok := l.uintArg(n, 0, 65535); ok {
				ck.UDP.MaxReplyLength = int(x)
			}
		}),
	)
}

// hexWords reads keepalived's free-form HEX_STR: each word is read two digits
// at a time, a lone last digit being the low nibble of a byte.
func (l *loader) hexWords(ws []syntax.Word, wildcard bool) (string, bool) {
	var b strings.Builder
	for _, w := range ws {
		s := strings.ToLower(w.Text)
		for _, r := range s {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || wildcard && r == 'x') {
				l.errf(w.Pos, "invalid hex string %q", w.Text)
				return "", false
			}
		}
		for i := 0; i < len(s); i += 2 {
			if i+1 < len(s) {
				b.WriteString(s[i : i+2])
			} else {
				b.WriteByte('0')
				b.WriteByte(s[i])
			}
		}
	}
	return b.String(), true
}
