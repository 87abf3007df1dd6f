package ipvsadm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// The formatter prints the ipvs model the way ipvsadm 1.31 does, byte for
// byte. Sorting emulates ipvsadm's comparators (32-bit wrapping differences)
// run by glibc's merge-sort qsort, so even their odd orders match.

// WriteList prints the whole table (ipvsadm -L, or -S with FmtRule).
func WriteList(w io.Writer, info ipvs.Info, t *ipvs.Table, f Format, r Resolver) error {
	bw := bufio.NewWriter(w)
	if f&FmtRule == 0 {
		fmt.Fprintf(bw, "IP Virtual Server version %d.%d.%d (size=%d)\n",
			info.Version>>16&0xff, info.Version>>8&0xff, info.Version&0xff, info.ConnTableSize)
	}
	svcs := make([]*ipvs.Service, len(t.Services))
	for i := range t.Services {
		svcs[i] = &t.Services[i]
	}
	if f&FmtNoSort == 0 {
		msort(svcs, cmpServices)
	}
	writeTitle(bw, f)
	for _, s := range svcs {
		writeServiceEntry(bw, s, f, r)
	}
	return bw.Flush()
}

// WriteService prints one service (ipvsadm -L -t addr:port).
func WriteService(w io.Writer, s *ipvs.Service, f Format, r Resolver) error {
	bw := bufio.NewWriter(w)
	writeTitle(bw, f)
	writeServiceEntry(bw, s, f, r)
	return bw.Flush()
}

// WriteTimeouts prints ipvsadm -L --timeout.
func WriteTimeouts(w io.Writer, t ipvs.Timeouts) error {
	_, err := fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n",
		int64(t.TCP.Seconds()), int64(t.TCPFin.Seconds()), int64(t.UDP.Seconds()))
	return err
}

// WriteDaemons prints ipvsadm -L --daemon.
func WriteDaemons(w io.Writer, ds []ipvs.SyncDaemon) error {
	bw := bufio.NewWriter(w)
	for _, st := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		for _, d := range ds {
			if d.State != st {
				continue
			}
			fmt.Fprintf(bw, "%s sync daemon (mcast=%s, syncid=%d", st, d.Interface, d.SyncID)
			if d.MaxLen != 0 {
				fmt.Fprintf(bw, ", maxlen=%d", d.MaxLen)
			}
			if d.McastGroup.IsValid() {
				fmt.Fprintf(bw, ", group=%s", d.McastGroup)
			}
			if d.McastPort != 0 {
				fmt.Fprintf(bw, ", port=%d", d.McastPort)
			}
			if d.McastTTL != 0 {
				fmt.Fprintf(bw, ", ttl=%d", d.McastTTL)
			}
			bw.WriteString(")\n")
		}
	}
	return bw.Flush()
}

// WriteConnections prints ipvsadm -L -c (with FmtPersistConn: --persistent-conn).
func WriteConnections(w io.Writer, conns []ipvs.Connection, f Format, r Resolver) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("IPVS connection entries\n")
	if f&FmtPersistConn != 0 {
		fmt.Fprintf(bw, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
			"state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(bw, "pro expire %-11s %-18s %-18s %s\n",
			"state", "source", "virtual", "destination")
	}
	for i := range conns {
		c := &conns[i]
		var proto ipvs.Protocol
		switch c.Protocol {
		case "TCP":
			proto = ipvs.TCP
		case "UDP":
			proto = ipvs.UDP
		case "SCTP":
			proto = ipvs.SCTP
		}
		cname := addrPortName(c.Client.Addr(), c.Client.Port(), proto, f, r)
		vname := addrPortName(c.Virtual.Addr(), c.Virtual.Port(), proto, f, r)
		dname := addrPortName(c.Dest.Addr(), c.Dest.Port(), proto, f, r)
		exp := uint32(c.Expires.Seconds())
		expire := fmt.Sprintf("%02d:%02d", exp/60, exp%60)
		state := c.State
		if state == "" {
			state = "NONE"
		}
		if f&FmtPersistConn != 0 && c.PEName != "" {
			fmt.Fprintf(bw, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n",
				c.Protocol, expire, state, cname, vname, dname, c.PEName, c.PEData)
		} else {
			fmt.Fprintf(bw, "%-3s %-6s %-11s %-18s %-18s %s\n",
				c.Protocol, expire, state, cname, vname, dname)
		}
	}
	return bw.Flush()
}

func writeTitle(w *bufio.Writer, f Format) {
	const lp = "Prot LocalAddress:Port"
	switch {
	case f&FmtStats != 0:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", lp,
			"Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case f&FmtRate != 0:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", lp,
			"CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case f&FmtThresholds != 0:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n", lp,
			"Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case f&FmtPersistConn != 0:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n", lp,
			"Weight", "PersistConn", "ActiveConn", "InActConn")
	case f&FmtTunInfo != 0:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	case f&FmtRule == 0:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

// largeNum is ipvsadm's print_largenum.
func largeNum(i uint64, f Format) string {
	if f&FmtExact != 0 {
		s := strconv.FormatUint(i, 10)
		width := len(s) + 1
		if len(s) <= 8 {
			width = 9
		}
		return fmt.Sprintf("%*d", width, i)
	}
	switch {
	case i < 100000000:
		return fmt.Sprintf("%9d", i)
	case i < 1000000000:
		return fmt.Sprintf("%8dK", i/1000)
	case i < 100000000000:
		return fmt.Sprintf("%8dM", i/1000000)
	case i < 100000000000000:
		return fmt.Sprintf("%8dG", i/1000000000)
	}
	return fmt.Sprintf("%8dT", i/1000000000000)
}

func schedFlagsString(s *ipvs.Service) string {
	var flags []string
	switch s.SchedulerName() {
	case "sh", "mh":
		n := s.SchedulerName()
		if s.Flags&ipvs.FlagSched1 != 0 {
			flags = append(flags, n+"-fallback")
		}
		if s.Flags&ipvs.FlagSched2 != 0 {
			flags = append(flags, n+"-port")
		}
	default:
		for i, fl := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
			if s.Flags&fl != 0 {
				flags = append(flags, "flag-"+strconv.Itoa(i+1))
			}
		}
	}
	return strings.Join(flags, ",")
}

func protocolName(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP, ipvs.UDP, ipvs.SCTP:
		return p.String()
	}
	return "?"
}

func protocolOption(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP:
		return "-t"
	case ipvs.UDP:
		return "-u"
	case ipvs.SCTP:
		return "--sctp-service"
	}
	return "--xxx-service"
}

// addrPortName is ipvsadm's addrport_to_anyname (a 60-byte buffer).
func addrPortName(a netip.Addr, port uint16, proto ipvs.Protocol, f Format, r Resolver) string {
	a = a.Unmap()
	open, closing := "", ""
	if !a.Is4() {
		open, closing = "[", "]"
	}
	var s string
	if f&FmtNumeric != 0 || r == nil {
		s = fmt.Sprintf("%s%s%s:%d", open, a, closing, port)
	} else {
		host, ok := r.HostName(a)
		if !ok {
			host = a.String()
		}
		pn, ok := r.PortName(port, proto)
		if !ok {
			pn = strconv.Itoa(int(port))
		}
		s = open + host + closing + ":" + pn
	}
	if len(s) > 59 {
		s = s[:59]
	}
	return s
}

func maskString(bits int) string {
	var b [4]byte
	for i := range 4 {
		n := min(max(bits-8*i, 0), 8)
		b[i] = byte(0xff << (8 - n))
	}
	return netip.AddrFrom4(b).String()
}

func fwdName(m ipvs.Method) string {
	switch m & 7 {
	case ipvs.Masq, ipvs.Local, ipvs.Tunnel, ipvs.DR:
		return (m & 7).String()
	}
	return "(null)"
}

func fwdSwitch(m ipvs.Method) string {
	switch m & 7 {
	case ipvs.Masq:
		return "-m"
	case ipvs.Tunnel:
		return "-i"
	case ipvs.Local, ipvs.DR:
		return "-g"
	}
	return "(null)"
}

var tunFlagNames = [3]string{"-c", "+c", "r+c"}
var tunFlagOpts = [3]string{"--tun-nocsum", "--tun-csum", "--tun-remcsum"}

func tunFlagIndex(f ipvs.TunnelFlags) int {
	if int(f) < len(tunFlagNames) {
		return int(f)
	}
	return 0
}

func tunInfo(d *ipvs.Destination) string {
	if d.Method&7 != ipvs.Tunnel {
		return "n/a"
	}
	var s string
	switch d.TunType {
	case ipvs.TunnelIPIP:
		s = "ipip"
	case ipvs.TunnelGUE:
		s = fmt.Sprintf("gue:%d:%s", d.TunPort, tunFlagNames[tunFlagIndex(d.TunFlags)])
	case ipvs.TunnelGRE:
		s = "gre:" + tunFlagNames[tunFlagIndex(d.TunFlags)]
	default:
		return "n/a"
	}
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func writeServiceEntry(w *bufio.Writer, s *ipvs.Service, f Format, r Resolver) {
	k := s.Key
	var name string
	if k.FWMark != 0 {
		mark := int32(k.FWMark) // ipvsadm 1.31 prints the mark with %d
		switch {
		case f&FmtRule != 0 && k.Family == ipvs.FamilyIPv6:
			name = fmt.Sprintf("-f %d -6", mark)
		case f&FmtRule != 0:
			name = fmt.Sprintf("-f %d", mark)
		case k.Family == ipvs.FamilyIPv6:
			name = fmt.Sprintf("FWM  %d IPv6", mark)
		default:
			name = fmt.Sprintf("FWM  %d", mark)
		}
	} else {
		vname := addrPortName(k.Addr, k.Port, k.Protocol, f, r)
		if f&FmtRule != 0 {
			name = protocolOption(k.Protocol) + " " + vname
		} else {
			name = fmt.Sprintf("%-4s %s", protocolName(k.Protocol), vname)
			if k.Family != ipvs.FamilyIPv6 && len(name) > 33 {
				name = name[:33]
			}
		}
	}
	sched := s.Scheduler
	schedFlags := s.Flags & (ipvs.FlagSched1 | ipvs.FlagSched2 | ipvs.FlagSched3)
	persistent := s.Flags&ipvs.FlagPersistent != 0
	fullMask := s.NetmaskBits() == k.Family.Bits()
	switch {
	case f&FmtRule != 0:
		fmt.Fprintf(w, "-A %s -s %s", name, sched)
		if persistent {
			fmt.Fprintf(w, " -p %d", s.Timeout)
			if !fullMask {
				if k.Family == ipvs.FamilyIPv6 {
					fmt.Fprintf(w, " -M %d", s.NetmaskBits())
				} else {
					fmt.Fprintf(w, " -M %s", maskString(s.NetmaskBits()))
				}
			}
		}
		if s.PEName != "" {
			fmt.Fprintf(w, " --pe %s", s.PEName)
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			w.WriteString(" -o")
		}
		if schedFlags != 0 {
			w.WriteString(" -b " + schedFlagsString(s))
		}
	case f&FmtStats != 0:
		st := s.Counters()
		fmt.Fprintf(w, "%-33s%s%s%s%s%s", name, largeNum(st.Conns, f), largeNum(st.InPkts, f),
			largeNum(st.OutPkts, f), largeNum(st.InBytes, f), largeNum(st.OutBytes, f))
	case f&FmtRate != 0:
		st := s.Counters()
		fmt.Fprintf(w, "%-33s%s%s%s%s%s", name, largeNum(st.CPS, f), largeNum(st.InPPS, f),
			largeNum(st.OutPPS, f), largeNum(st.InBPS, f), largeNum(st.OutBPS, f))
	default:
		fmt.Fprintf(w, "%s %s", name, sched)
		if schedFlags != 0 {
			w.WriteString(" (" + schedFlagsString(s) + ")")
		}
		if persistent {
			fmt.Fprintf(w, " persistent %d", s.Timeout)
			if !fullMask {
				if k.Family == ipvs.FamilyIPv6 {
					fmt.Fprintf(w, " mask %d", s.NetmaskBits())
				} else {
					fmt.Fprintf(w, " mask %s", maskString(s.NetmaskBits()))
				}
			}
			if s.PEName != "" {
				fmt.Fprintf(w, " pe %s", s.PEName)
			}
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			w.WriteString(" ops")
		}
	}
	w.WriteString("\n")

	dests := make([]*ipvs.Destination, len(s.Destinations))
	for i := range s.Destinations {
		dests[i] = &s.Destinations[i]
	}
	if f&FmtNoSort == 0 {
		msort(dests, cmpDests)
	}
	for _, d := range dests {
		dname := addrPortName(d.Addr, d.Port, k.Protocol, f, r)
		if f&FmtRule == 0 && d.Family() != ipvs.FamilyIPv6 && len(dname) > 28 {
			dname = dname[:28]
		}
		switch {
		case f&FmtRule != 0:
			if d.Method&7 == ipvs.Tunnel {
				writeTunnelRule(w, name, dname, d)
			} else {
				fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", name, dname, fwdSwitch(d.Method), d.Weight)
			}
		case f&FmtStats != 0:
			st := d.Counters()
			fmt.Fprintf(w, "  -> %-28s%s%s%s%s%s\n", dname, largeNum(st.Conns, f), largeNum(st.InPkts, f),
				largeNum(st.OutPkts, f), largeNum(st.InBytes, f), largeNum(st.OutBytes, f))
		case f&FmtRate != 0:
			st := d.Counters()
			fmt.Fprintf(w, "  -> %-28s %8d %8d %8d%s%s\n", dname, st.CPS, st.InPPS, st.OutPPS,
				largeNum(st.InBPS, f), largeNum(st.OutBPS, f))
		case f&FmtThresholds != 0:
			fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %-10d\n", dname,
				d.UpperThreshold, d.LowerThreshold, d.Counters().ActiveConns, d.Counters().InactConns)
		case f&FmtPersistConn != 0:
			fmt.Fprintf(w, "  -> %-28s %-9d %-11d %-10d %-10d\n", dname,
				uint32(d.Weight), d.Counters().PersistConns, d.Counters().ActiveConns, d.Counters().InactConns)
		case f&FmtTunInfo != 0:
			fmt.Fprintf(w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", dname, fwdName(d.Method),
				tunInfo(d), d.Weight, d.Counters().ActiveConns, d.Counters().InactConns)
		default:
			fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dname, fwdName(d.Method),
				d.Weight, d.Counters().ActiveConns, d.Counters().InactConns)
		}
	}
}

func writeTunnelRule(w *bufio.Writer, svc, dname string, d *ipvs.Destination) {
	sw := fwdSwitch(d.Method)
	switch d.TunType {
	case ipvs.TunnelGRE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s %s\n", svc, dname, sw, d.Weight,
			"gre", tunFlagOpts[tunFlagIndex(d.TunFlags)])
	case ipvs.TunnelGUE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s --tun-port %d %s\n", svc, dname, sw, d.Weight,
			"gue", d.TunPort, tunFlagOpts[tunFlagIndex(d.TunFlags)])
	case ipvs.TunnelIPIP:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s\n", svc, dname, sw, d.Weight, "ipip")
	default:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", svc, dname, sw, d.Weight)
	}
}

// addrWords returns the address as libipvs's union nf_inet_addr seen as four
// host-order 32-bit words (an IPv4 address in the first word).
func addrWords(a netip.Addr) [4]uint32 {
	var w [4]uint32
	if !a.IsValid() {
		return w
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		w[0] = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return w
	}
	b := a.As16()
	for i := range 4 {
		w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
	}
	return w
}

// cmpServices is libipvs's ipvs_cmp_services, with C's int arithmetic.
func cmpServices(a, b *ipvs.Service) int {
	if r := int32(a.Key.FWMark - b.Key.FWMark); r != 0 {
		return int(r)
	}
	if r := int(a.Key.Family) - int(b.Key.Family); r != 0 {
		return r
	}
	pa, pb := a.Key.Protocol, b.Key.Protocol
	if a.Key.FWMark != 0 {
		pa = ipvs.TCP // ipvsadm -f sends TCP; the kernel keeps it
	}
	if b.Key.FWMark != 0 {
		pb = ipvs.TCP
	}
	if r := int(pa) - int(pb); r != 0 {
		return r
	}
	if r := cmpAddrWords(a.Key.Family, a.Key.Addr, b.Key.Addr); r != 0 {
		return r
	}
	return int(a.Key.Port) - int(b.Key.Port)
}

func cmpAddrWords(f ipvs.Family, a, b netip.Addr) int {
	wa, wb := addrWords(a), addrWords(b)
	if f == ipvs.FamilyIPv6 {
		var r int32
		for i := 0; r == 0 && i < 4; i++ {
			r = int32(wa[i] - wb[i])
		}
		return int(r)
	}
	return int(int32(wa[0] - wb[0]))
}

// cmpDests is libipvs's ipvs_cmp_dests.
func cmpDests(a, b *ipvs.Destination) int {
	if r := cmpAddrWords(a.Family(), a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// msort sorts like glibc's qsort (a top-down merge sort, glibc <= 2.36),
// so that inconsistent comparators give the same order as ipvsadm.
func msort[T any](b []T, cmp func(a, b T) int) {
	tmp := make([]T, len(b))
	msortRec(b, tmp, cmp)
}

func msortRec[T any](b, tmp []T, cmp func(a, b T) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	msortRec(b[:n1], tmp, cmp)
	msortRec(b[n1:], tmp, cmp)
	i, j, k := 0, n1, 0
	for i < n1 && j < n {
		if cmp(b[i], b[j]) <= 0 {
			tmp[k] = b[i]
			i++
		} else {
			tmp[k] = b[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], b[i:n1])
	copy(b, tmp[:k])
}
