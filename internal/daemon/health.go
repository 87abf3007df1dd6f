package daemon

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

// ---- translation -----------------------------------------------------------

// vsID names a virtual server for check IDs and logs: "TCP 192.0.2.1:80",
// "fwmark 7", "group NAME" (with the protocol when it has one).
func vsID(v *conf.VirtualServer) string {
	switch {
	case v.Group != "":
		return "group " + v.Group + protoSuffix(v)
	case v.IsFWMark:
		return vsName(v)
	}
	return string(v.Protocol) + " " + netip.AddrPortFrom(v.Addr, v.Port).String()
}

func protoSuffix(v *conf.VirtualServer) string {
	if v.Protocol == "" {
		return ""
	}
	return " " + string(v.Protocol)
}

// rsID names a real server: "10.0.0.1:80".
func rsID(r *conf.RealServer) string { return netip.AddrPortFrom(r.Addr, r.Port).String() }

// checkID is stable across reloads as long as the virtual server, the real
// server, the checker's position among the real server's checkers and its kind
// are unchanged: healthcheck.Scheduler.Update then keeps its state.
func checkID(v *conf.VirtualServer, r *conf.RealServer, i int, kind conf.CheckerType, host int) string {
	id := fmt.Sprintf("%s/%s/%s#%d", vsID(v), rsID(r), kind, i)
	if host > 0 {
		id += fmt.Sprintf("/host%d", host)
	}
	return id
}

// healthConn translates a checker's connection options; connect_ip and
// connect_port default to the real server's.
func healthConn(o conf.ConnOpts, r *conf.RealServer) healthcheck.Conn {
	c := healthcheck.Conn{
		ConnectIP:      o.ConnectIP,
		ConnectPort:    o.ConnectPort,
		BindTo:         o.BindTo,
		BindPort:       o.BindPort,
		BindIf:         o.BindIf,
		Fwmark:         o.FWMark,
		ConnectTimeout: o.ConnectTimeout.Std(),
	}
	if !c.ConnectIP.IsValid() {
		c.ConnectIP = r.Addr
	}
	if c.ConnectPort == 0 {
		c.ConnectPort = r.Port
	}
	return c
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// checkers translates one checker block into healthcheck checkers: one, or
// one per host of an SMTP_CHECK with host blocks (all must be up).
func checkers(cfg *conf.Config, v *conf.VirtualServer, r *conf.RealServer, c *conf.Checker) ([]healthcheck.Checker, error) {
	conn := healthConn(c.ConnOpts, r)
	one := func(ch healthcheck.Checker, err error) ([]healthcheck.Checker, error) {
		if err != nil {
			return nil, err
		}
		return []healthcheck.Checker{ch}, nil
	}
	switch c.Type {
	case conf.TCPCheck:
		return one(healthcheck.NewTCP(healthcheck.TCPOptions{Conn: conn}))
	case conf.HTTPGet, conf.SSLGet:
		o := healthcheck.HTTPOptions{Conn: conn, SSL: c.Type == conf.SSLGet}
		if h := c.HTTP; h != nil {
			o.Protocol = h.Protocol
			o.EnableSNI = h.EnableSNI
			o.SNIName = h.SNIName
			o.VirtualHost = firstNonEmpty(h.Virtualhost, r.Virtualhost, v.Virtualhost)
			for _, u := range h.URLs {
				hu := healthcheck.URL{Path: u.Path, Digest: u.Digest, VirtualHost: u.Virtualhost,
					Regex: u.Regex, RegexNoMatch: u.RegexNoMatch, RegexOptions: u.RegexOptions,
					RegexMinOffset: u.RegexMinOffset, RegexMaxOffset: u.RegexMaxOffset}
				if u.Regex != "" {
					// Refused here, at the url's location, rather than by NewHTTP.
					if _, err := healthcheck.CompileRegex(u.Regex, u.RegexOptions, u.RegexMinOffset, u.RegexMaxOffset); err != nil {
						return nil, fmt.Errorf("url %s (%s): regex %q: %w", u.Path, u.Pos, u.Regex, err)
					}
				}
				for _, s := range u.StatusCodes {
					hu.StatusCodes = append(hu.StatusCodes, healthcheck.StatusRange{Lo: s.Min, Hi: s.Max})
				}
				o.URLs = append(o.URLs, hu)
			}
		}
		if cfg.SSL != nil {
			o.CAFile, o.CertFile, o.KeyFile, o.KeyPassword = cfg.SSL.CA, cfg.SSL.Certificate, cfg.SSL.Key, cfg.SSL.Password
		}
		return one(healthcheck.NewHTTP(o))
	case conf.MiscCheck:
		o := healthcheck.MiscOptions{Timeout: c.DelayLoop.Std()}
		if m := c.Misc; m != nil {
			if m.Path != nil {
				o.Argv = m.Path.Argv
				o.User = firstNonEmpty(m.Path.User, cfg.Global.ScriptUser)
				o.Group = m.Path.Group
				if m.Path.User == "" {
					o.Group = cfg.Global.ScriptGroup
				}
			}
			if m.Timeout > 0 {
				o.Timeout = m.Timeout.Std()
			}
			o.Dynamic = m.Dynamic
		}
		return one(healthcheck.NewMisc(o))
	case conf.DNSCheck:
		o := healthcheck.DNSOptions{Conn: conn}
		if d := c.DNS; d != nil {
			o.Type, o.Name = d.Type, d.Name
		}
		return one(healthcheck.NewDNS(o))
	case conf.UDPCheck:
		o := healthcheck.UDPOptions{Conn: conn}
		if u := c.UDP; u != nil {
			if u.Payload != "" {
				p, err := healthcheck.ParseHex(u.Payload, false)
				if err != nil {
					return nil, fmt.Errorf("UDP_CHECK: payload: %w", err)
				}
				o.Payload = p.Data
			}
			o.RequireReply = u.RequireReply
			if u.ReplyPattern != "" {
				p, err := healthcheck.ParseHex(u.ReplyPattern, true)
				if err != nil {
					return nil, fmt.Errorf("UDP_CHECK: require_reply: %w", err)
				}
				o.ReplyPattern = &p
			}
			o.MinReplyLength, o.MaxReplyLength = u.MinReplyLength, u.MaxReplyLength
		}
		return one(healthcheck.NewUDP(o))
	case conf.PingCheck:
		return one(healthcheck.NewPing(healthcheck.PingOptions{Conn: conn}))
	case conf.SMTPCheck:
		var helo string
		var hosts []conf.ConnOpts
		if s := c.SMTP; s != nil {
			helo, hosts = s.HeloName, s.Hosts
		}
		if len(hosts) == 0 {
			return one(healthcheck.NewSMTP(healthcheck.SMTPOptions{Conn: conn, HeloName: helo}))
		}
		var out []healthcheck.Checker
		for _, h := range hosts {
			hc := healthConn(h, r)
			if h.ConnectTimeout == 0 {
				hc.ConnectTimeout = conn.ConnectTimeout
			}
			ch, err := healthcheck.NewSMTP(healthcheck.SMTPOptions{Conn: hc, HeloName: helo})
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
		}
		return out, nil
	}
	return nil, fmt.Errorf("checker %s is not supported", c.Type)
}

// timing translates a checker's resolved scheduling settings.
func timing(v *conf.VirtualServer, c *conf.Checker) healthcheck.Timing {
	return healthcheck.Timing{
		DelayLoop:        c.DelayLoop.Std(),
		Retry:            c.Retry,
		DelayBeforeRetry: c.DelayBeforeRetry.Std(),
		Warmup:           c.Warmup.Std(),
		Alpha:            c.Alpha,
		Omega:            v.Omega,
	}
}

// addChecks translates each checker block of p's real servers into one
// healthcheck.Check (one per host of an SMTP_CHECK with host blocks) with an
// ID stable across reloads ("TCP 192.0.2.1:80/10.0.0.1:80/HTTP_GET#0"), and
// sets the machine's initial state: checks start up, alpha checks down (as
// healthcheck.Scheduler does). The checks are validated as the health
// runner's Update validates them, so that committing p cannot fail there.
func (p *plan) addChecks(wrap func(id string, c healthcheck.Checker) healthcheck.Checker) error {
	cfg := p.cfg
	for _, vs := range p.lvs.vss {
		v := vs.v
		name := vsName(v) // one string for the virtual server's checks
		for k, rs := range vs.rss {
			r := v.RealServers[k] // vs.rss are v's real servers in order
			kinds := map[string]int{}
			for i, c := range r.Checkers {
				chs, err := checkers(cfg, v, r, c)
				if err != nil {
					return at(c.Pos, fmt.Errorf("virtual_server %s: real_server %s: %s (%s): %w", vsName(v), rs.name, c.Type, c.Pos, err))
				}
				for j, ch := range chs {
					host := 0
					if len(chs) > 1 {
						host = j + 1
					}
					id := checkID(v, r, i, c.Type, host)
					if p.lvs.byCheck[id] != nil {
						return at(r.Pos, fmt.Errorf("virtual_server %s: real_server %s (%s): defined twice", vsName(v), rs.name, r.Pos))
					}
					label := string(c.Type)
					if n := kinds[label]; n > 0 {
						label += "#" + strconv.Itoa(n)
					}
					kinds[string(c.Type)]++
					cs := &checkState{rs: rs, up: !c.Alpha, info: metrics.CheckInfo{
						ID: id, VirtualServer: name, RealServer: netip.AddrPortFrom(r.Addr, r.Port), Checker: label,
					}}
					p.lvs.byCheck[id] = cs
					if c.LogAllFailures {
						if p.logAll == nil {
							p.logAll = map[string]bool{}
						}
						p.logAll[id] = true
					}
					rs.checks = append(rs.checks, cs)
					if wrap != nil {
						ch = wrap(id, ch)
					}
					p.checks = append(p.checks, healthcheck.Check{ID: id, Checker: ch, Timing: timing(v, c)})
				}
			}
			rs.up = rs.allUp()
		}
		vs.initQuorum()
	}
	if err := healthcheck.ValidateChecks(p.checks); err != nil {
		return fmt.Errorf("health checks: %w", err)
	}
	return nil
}

// healthChecks lists p's checks with the runner's state (the metrics' and
// /status's health source).
func (p *plan) healthChecks(runner *healthcheck.Runner) []metrics.CheckStatus {
	out := make([]metrics.CheckStatus, 0, len(p.checks))
	for _, c := range p.checks {
		cs := p.lvs.byCheck[c.ID]
		st, ok := runner.State(c.ID)
		if !ok {
			st = healthcheck.State{Up: !c.Timing.Alpha}
		}
		out = append(out, metrics.CheckStatus{CheckInfo: cs.info, Services: cs.rs.vs.keys(), State: st})
	}
	return out
}
