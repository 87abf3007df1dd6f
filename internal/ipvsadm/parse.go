package ipvsadm

import (
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// Cmd is an ipvsadm command (exactly one per invocation).
type Cmd int

// Commands, in ipvsadm's order (the order of its validity table).
const (
	CmdNone Cmd = iota
	CmdAdd
	CmdEdit
	CmdDel
	CmdFlush
	CmdList
	CmdAddDest
	CmdDelDest
	CmdEditDest
	CmdTimeout
	CmdStartDaemon
	CmdStopDaemon
	CmdRestore
	CmdSave
	CmdZero
	CmdHelp    // -h: print the usage
	CmdVersion // -v: print the version
)

var cmdNames = [...]string{
	"add-service", "edit-service", "delete-service", "flush", "list",
	"add-server", "delete-server", "edit-server", "set", "start-daemon",
	"stop-daemon", "restore", "save", "zero",
}

func (c Cmd) String() string {
	switch {
	case c > CmdNone && c <= CmdZero:
		return cmdNames[c-1]
	case c == CmdHelp:
		return "help"
	case c == CmdVersion:
		return "version"
	}
	return "none"
}

// Opt is a set of options given on the command line (ipvsadm's OPT_* bits).
type Opt uint64

// Option indexes (ipvsadm's OPTC_*); the bit of option i is 1<<i.
const (
	optcNumeric = iota
	optcConnection
	optcService
	optcScheduler
	optcPersistent
	optcNetmask
	optcServer
	optcForward
	optcWeight
	optcUThreshold
	optcLThreshold
	optcMcast
	optcTimeout
	optcDaemon
	optcStats
	optcRate
	optcThresholds
	optcPersistentConn
	optcNoSort
	optcSyncID
	optcExact
	optcOnePacket
	optcPE
	optcSchedFlags
	optcMcastGroup
	optcMcastPort
	optcMcastTTL
	optcSyncMaxLen
	optcTunInfo
	optcTunType
	optcTunPort
	optcTunNoCsum
	optcTunCsum
	optcTunRemCsum
	numOpts
)

// Option bits.
const (
	OptNumeric     Opt = 1 << optcNumeric
	OptConnection  Opt = 1 << optcConnection
	OptService     Opt = 1 << optcService
	OptScheduler   Opt = 1 << optcScheduler
	OptPersistent  Opt = 1 << optcPersistent
	OptNetmask     Opt = 1 << optcNetmask
	OptServer      Opt = 1 << optcServer
	OptForward     Opt = 1 << optcForward
	OptWeight      Opt = 1 << optcWeight
	OptUThreshold  Opt = 1 << optcUThreshold
	OptLThreshold  Opt = 1 << optcLThreshold
	OptMcast       Opt = 1 << optcMcast
	OptTimeout     Opt = 1 << optcTimeout
	OptDaemon      Opt = 1 << optcDaemon
	OptStats       Opt = 1 << optcStats
	OptRate        Opt = 1 << optcRate
	OptThresholds  Opt = 1 << optcThresholds
	OptPersistConn Opt = 1 << optcPersistentConn
	OptNoSort      Opt = 1 << optcNoSort
	OptSyncID      Opt = 1 << optcSyncID
	OptExact       Opt = 1 << optcExact
	OptOnePacket   Opt = 1 << optcOnePacket
	OptPE          Opt = 1 << optcPE
	OptSchedFlags  Opt = 1 << optcSchedFlags
	OptMcastGroup  Opt = 1 << optcMcastGroup
	OptMcastPort   Opt = 1 << optcMcastPort
	OptMcastTTL    Opt = 1 << optcMcastTTL
	OptSyncMaxLen  Opt = 1 << optcSyncMaxLen
	OptTunInfo     Opt = 1 << optcTunInfo
	OptTunType     Opt = 1 << optcTunType
	OptTunPort     Opt = 1 << optcTunPort
	OptTunNoCsum   Opt = 1 << optcTunNoCsum
	OptTunCsum     Opt = 1 << optcTunCsum
	OptTunRemCsum  Opt = 1 << optcTunRemCsum
)

var optNames = [numOpts]string{
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "mcast-interface", "timeout", "daemon", "stats", "rate",
	"thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen",
	"tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

// commandsVOptions is ipvsadm's table of legal combinations of commands and
// options: '+' compulsory, 'x' illegal, '1' exclusive, ' ' optional.
var commandsVOptions = [CmdZero][numOpts]byte{
	//            -n   -c   svc  -s   -p   -M   -r   fwd  -w   -x   -y   -mc  tot  dmn  -st  -rt  thr  -pc  srt  sid  -ex  ops  -pe  -b   grp  port ttl  size tinf type tprt nocs csum remc
	/*ADD*/ {'x', 'x', '+', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*EDIT*/ {'x', 'x', '+', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*DEL*/ {'x', 'x', '+', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*FLUSH*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*LIST*/ {' ', '1', '1', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', '1', '1', ' ', ' ', ' ', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x'},
	/*ADDSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', ' '},
	/*DELSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*EDITSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', ' '},
	/*TIMEOUT*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*STARTD*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*STOPD*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*RESTORE*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*SAVE*/ {' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*ZERO*/ {'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
}

// Tunnel option columns and the legal combinations per tunnel type.
var tunOpts = [4]int{optcTunPort, optcTunNoCsum, optcTunCsum, optcTunRemCsum}

var tunnelTypesVOptions = [3][4]byte{
	/* ipip */ {'x', 'x', 'x', 'x'},
	/* gue */ {'+', '1', '1', '1'},
	/* gre */ {'x', '1', '1', 'x'},
}

// Format selects what a listing shows (ipvsadm's FMT_* bits).
type Format uint32

// Format bits.
const (
	FmtNumeric     Format = 0x0001
	FmtRule        Format = 0x0002
	FmtStats       Format = 0x0004
	FmtRate        Format = 0x0008
	FmtThresholds  Format = 0x0010
	FmtPersistConn Format = 0x0020
	FmtNoSort      Format = 0x0040
	FmtExact       Format = 0x0080
	FmtTunInfo     Format = 0x0100
)

// Defaults of ipvsadm 1.31.
const (
	DefaultPersistentTimeout = 360 // IPVS_SVC_PERSISTENT_TIMEOUT (6*60)
	maxTimeout               = 86400 * 31
	defaultMcastIfn          = "eth0"
)

// ServiceSpec is the virtual service of a command, as ipvsadm keeps it
// (ipvs_service_t): fields are filled in argument order.
type ServiceSpec struct {
	Family   ipvs.Family // 0 until -t/-u/--sctp-service/-f
	Protocol ipvs.Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
	Sched    string
	Flags    ipvs.ServiceFlags
	Timeout  uint32
	// Netmask is the persistence granularity: an IPv4 mask as a 32-bit
	// value (255.255.255.0 is 0xffffff00) or an IPv6 prefix length.
	Netmask uint32
	PE      string
}

// Key returns the ipvs key of the service.
func (s *ServiceSpec) Key() ipvs.ServiceKey {
	if s.FWMark != 0 {
		return ipvs.FWMarkKey(s.Family, s.FWMark)
	}
	return ipvs.ServiceKey{Family: s.Family, Protocol: s.Protocol, Addr: s.Addr, Port: s.Port}
}

// DestSpec is the real server of a command (ipvs_dest_t).
type DestSpec struct {
	Addr      netip.Addr
	Port      uint16
	Method    ipvs.Method
	Weight    int32
	UThresh   uint32
	LThresh   uint32
	TunType   ipvs.TunnelType
	TunPort   uint16
	TunFlags  ipvs.TunnelFlags
	hasFamily bool
}

// Command is a parsed ipvsadm command line.
type Command struct {
	Cmd      Cmd
	Options  Opt
	Format   Format
	Service  ServiceSpec
	Dest     DestSpec
	Timeouts [3]uint32 // --set tcp tcpfin udp, in seconds
	Daemon   ipvs.SyncDaemon
}

// Exit codes of ipvsadm.
const (
	ExitOK      = 0
	ExitFailure = 1   // listing errors
	ExitUsage   = 2   // fail(2, ...): bad arguments
	ExitError   = 255 // kernel errors, popt errors, "Try ... -h" (exit(-1))
)

// ExitError is a command-line error: Msg (without the trailing newline) goes to
// stderr and the process exits with Code.
type ExitErr struct {
	Code int
	Msg  string
	// Return marks an error that ipvsadm's parse_options returns (-1) instead
	// of exiting: a popt error after the command option. Alone it exits with
	// Code; in ipvsadm -R input it fails that line and the next one is read.
	Return bool
}

func (e *ExitErr) Error() string { return e.Msg }

func fail(format string, args ...any) *ExitErr {
	return &ExitErr{Code: ExitUsage, Msg: fmt.Sprintf(format, args...)}
}

// tryHelp is ipvsadm's tryhelp_exit(program, -1).
func tryHelp(prog string) *ExitErr {
	return &ExitErr{Code: ExitError, Msg: fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", prog, prog)}
}

// Tags of long options without a short name (values above ASCII like ipvsadm).
const (
	tagSet = 128 + iota
	tagStartDaemon
	tagStopDaemon
	tagMcastInterface
	tagTimeout
	tagDaemon
	tagStats
	tagRate
	tagThresholds
	tagPersistentConn
	tagSort
	tagNoSort
	tagPE
	tagSCTPService
	tagMcastGroup
	tagMcastPort
	tagMcastTTL
	tagSyncMaxLen
	tagTunInfo
	tagTunType
	tagTunPort
	tagTunNoCsum
	tagTunCsum
	tagTunRemCsum
)

type argKind int

const (
	argNone argKind = iota
	argString
	argOptional
)

type poptOption struct {
	long  string
	short byte
	arg   argKind
	val   int
}

var optionTable = []poptOption{
	{"add-service", 'A', argNone, 'A'},
	{"edit-service", 'E', argNone, 'E'},
	{"delete-service", 'D', argNone, 'D'},
	{"clear", 'C', argNone, 'C'},
	{"list", 'L', argNone, 'L'},
	{"list", 'l', argNone, 'l'},
	{"zero", 'Z', argNone, 'Z'},
	{"add-server", 'a', argNone, 'a'},
	{"edit-server", 'e', argNone, 'e'},
	{"delete-server", 'd', argNone, 'd'},
	{"set", 0, argNone, tagSet},
	{"help", 'h', argNone, 'h'},
	{"version", 'v', argNone, 'v'},
	{"restore", 'R', argNone, 'R'},
	{"save", 'S', argNone, 'S'},
	{"start-daemon", 0, argString, tagStartDaemon},
	{"stop-daemon", 0, argString, tagStopDaemon},
	{"tcp-service", 't', argString, 't'},
	{"udp-service", 'u', argString, 'u'},
	{"sctp-service", 0, argString, tagSCTPService},
	{"fwmark-service", 'f', argString, 'f'},
	{"scheduler", 's', argString, 's'},
	{"persistent", 'p', argOptional, 'p'},
	{"netmask", 'M', argString, 'M'},
	{"real-server", 'r', argString, 'r'},
	{"masquerading", 'm', argNone, 'm'},
	{"ipip", 'i', argNone, 'i'},
	{"gatewaying", 'g', argNone, 'g'},
	{"weight", 'w', argString, 'w'},
	{"u-threshold", 'x', argString, 'x'},
	{"l-threshold", 'y', argString, 'y'},
	{"numeric", 'n', argNone, 'n'},
	{"connection", 'c', argNone, 'c'},
	{"mcast-interface", 0, argString, tagMcastInterface},
	{"syncid", 0, argString, 'I'},
	{"timeout", 0, argNone, tagTimeout},
	{"daemon", 0, argNone, tagDaemon},
	{"stats", 0, argNone, tagStats},
	{"rate", 0, argNone, tagRate},
	{"thresholds", 0, argNone, tagThresholds},
	{"persistent-conn", 0, argNone, tagPersistentConn},
	{"nosort", 0, argNone, tagNoSort},
	{"sort", 0, argNone, tagSort},
	{"exact", 'X', argNone, 'X'},
	{"ipv6", '6', argNone, '6'},
	{"ops", 'o', argNone, 'o'},
	{"pe", 0, argString, tagPE},
	{"sched-flags", 'b', argString, 'b'},
	{"mcast-group", 0, argString, tagMcastGroup},
	{"mcast-port", 0, argString, tagMcastPort},
	{"mcast-ttl", 0, argString, tagMcastTTL},
	{"sync-maxlen", 0, argString, tagSyncMaxLen},
	{"tun-info", 0, argNone, tagTunInfo},
	{"tun-type", 0, argString, tagTunType},
	{"tun-port", 0, argString, tagTunPort},
	{"tun-nocsum", 0, argNone, tagTunNoCsum},
	{"tun-csum", 0, argNone, tagTunCsum},
	{"tun-remcsum", 0, argNone, tagTunRemCsum},
}

// popt error codes and texts (poptStrerror).
const (
	poptErrNoArg       = "missing argument"
	poptErrUnwantedArg = "option does not take an argument"
	poptErrBadOpt      = "unknown option"
)

// popt walks argv the way libpopt 1.19 does for ipvsadm's option table:
// "--long", "--long=arg", clustered short options ("-Ln"), short option
// arguments glued ("-p20", "-p=20") or separate, optional arguments taken
// only when the next word does not start with '-', non-options collected as
// leftovers (also everything after "--").
type popt struct {
	argv      []string
	next      int
	charArg   string // rest of a short option cluster
	inCluster bool
	rest      bool // after "--"
	leftovers []string
	bad       string // the word that caused an error
}

// nextOpt returns the next option's value and argument, done at the end, or
// a popt error text.
func (p *popt) nextOpt() (val int, arg string, hasArg bool, done bool, perr string) {
	for {
		var opt *poptOption
		var longArg string
		var hasLongArg bool
		if !p.inCluster {
			if p.next >= len(p.argv) {
				return 0, "", false, true, ""
			}
			word := p.argv[p.next]
			p.next++
			if p.rest || !strings.HasPrefix(word, "-") || word == "-" {
				p.leftovers = append(p.leftovers, word)
				continue
			}
			if word == "--" {
				p.rest = true
				continue
			}
			if strings.HasPrefix(word, "--") {
				name := word[2:]
				if i := strings.IndexByte(name, '='); i >= 0 {
					longArg, hasLongArg = name[i+1:], true
					name = name[:i]
				}
				for i := range optionTable {
					if optionTable[i].long == name {
						opt = &optionTable[i]
						break
					}
				}
				if opt == nil {
					p.bad = word
					return 0, "", false, false, poptErrBadOpt
				}
			} else {
				p.charArg, p.inCluster = word[1:], true
			}
		}
		if p.inCluster {
			c := p.charArg[0]
			for i := range optionTable {
				if optionTable[i].short == c {
					opt = &optionTable[i]
					break
				}
			}
			p.charArg = p.charArg[1:]
			p.inCluster = p.charArg != ""
			if opt == nil {
				p.bad = p.argv[p.next-1]
				return 0, "", false, false, poptErrBadOpt
			}
		}
		if opt.arg == argNone {
			if hasLongArg || (p.inCluster && p.charArg[0] == '=') {
				p.bad = p.argv[p.next-1]
				return 0, "", false, false, poptErrUnwantedArg
			}
			return opt.val, "", false, false, ""
		}
		switch {
		case hasLongArg:
			return opt.val, longArg, true, false, ""
		case p.inCluster:
			a := strings.TrimPrefix(p.charArg, "=")
			p.charArg, p.inCluster = "", false
			return opt.val, a, true, false, ""
		case p.next >= len(p.argv):
			if opt.arg != argOptional {
				p.bad = p.argv[p.next-1]
				return 0, "", false, false, poptErrNoArg
			}
			return opt.val, "", false, false, ""
		case opt.arg == argOptional && strings.HasPrefix(p.argv[p.next], "-"):
			return opt.val, "", false, false, ""
		default:
			a := p.argv[p.next]
			p.next++
			return opt.val, a, true, false, ""
		}
	}
}

// parser holds the state of one parse, mirroring ipvsadm's ipvs_command_entry.
type parser struct {
	prog string
	res  Resolver
	ce   Command
}

// Parse parses one ipvsadm command line; args[0] is the program name used in
// messages. Errors are *ExitErr with ipvsadm's message and exit code. Host
// and service names are resolved with r (nil: numeric only).
func Parse(args []string, r Resolver) (*Command, error) {
	if r == nil {
		r = NumericResolver{}
	}
	prog := "ipvsadm"
	if len(args) > 0 {
		prog = args[0]
		args = args[1:]
	}
	ps := &parser{prog: prog, res: r}
	ce := &ps.ce
	ce.Dest.Weight = 1
	ce.Dest.Method = ipvs.DR
	ce.Service.Netmask = math.MaxUint32
	if err := ps.parseOptions(args); err != nil {
		return nil, err
	}
	if ce.Cmd == CmdHelp || ce.Cmd == CmdVersion {
		return ce, nil
	}
	if err := genericOptCheck(ce.Cmd, ce.Options); err != nil {
		return nil, err
	}
	if ce.Cmd == CmdAdd || ce.Cmd == CmdEdit {
		if ce.Service.FWMark == 0 && ce.Service.Port == 0 && ce.Service.Flags&ipvs.FlagPersistent == 0 {
			return nil, fail("Zero port specified for non-persistent service")
		}
		if ce.Service.Flags&ipvs.FlagOnePacket != 0 && ce.Service.FWMark == 0 && ce.Service.Protocol != ipvs.UDP {
			return nil, fail("One-Packet Scheduling is only for UDP virtual services")
		}
		if ce.Service.Sched == "" {
			ce.Service.Sched = ipvs.DefaultScheduler
		}
	}
	if ce.Cmd == CmdStartDaemon && ce.Daemon.Interface == "" {
		ce.Daemon.Interface = defaultMcastIfn
	}
	if ce.Cmd == CmdAddDest || ce.Cmd == CmdEditDest {
		m := ce.Dest.Method
		if ce.Service.FWMark == 0 && (m == ipvs.Tunnel || m == ipvs.DR) {
			ce.Dest.Port = ce.Service.Port
		}
		if destFamily(&ce.Dest) != ce.Service.Family && m != ipvs.Tunnel {
			return nil, fail("Different address family is allowed only for tunneling servers")
		}
		if ce.Options&(OptTunType|OptTunPort|OptTunNoCsum|OptTunCsum|OptTunRemCsum) != 0 && m != ipvs.Tunnel {
			return nil, fail("Tunnel options conflict with forward method")
		}
		if err := tunnelOptCheck(ce.Dest.TunType, ce.Options); err != nil {
			return nil, err
		}
	}
	if ce.Cmd == CmdList {
		o := ce.Options
		if (o&(OptConnection|OptTimeout|OptDaemon) != 0 && o&(OptStats|OptRate|OptThresholds) != 0) ||
			(o&(OptTimeout|OptDaemon) != 0 && o&OptPersistConn != 0) {
			return nil, fail("options conflicts in the list command")
		}
	}
	if ce.Cmd == CmdSave {
		ce.Format |= FmtRule
	}
	return ce, nil
}

func destFamily(d *DestSpec) ipvs.Family {
	if !d.Addr.IsValid() {
		return 0
	}
	return ipvs.FamilyOf(d.Addr)
}

func (ps *parser) setCommand(c Cmd) error {
	if ps.ce.Cmd != CmdNone {
		return fail("multiple commands specified")
	}
	ps.ce.Cmd = c
	return nil
}

func (ps *parser) setOption(optc int) error {
	bit := Opt(1) << optc
	if ps.ce.Options&bit != 0 {
		return fail("multiple '%s' options specified", optNames[optc])
	}
	ps.ce.Options |= bit
	return nil
}

func (ps *parser) parseOptions(args []string) error {
	ce := &ps.ce
	p := &popt{argv: args}
	val, arg, _, done, perr := p.nextOpt()
	if done || perr != "" {
		return tryHelp(ps.prog)
	}
	var err error
	switch val {
	case 'A':
		err = ps.setCommand(CmdAdd)
	case 'E':
		err = ps.setCommand(CmdEdit)
	case 'D':
		err = ps.setCommand(CmdDel)
	case 'a':
		err = ps.setCommand(CmdAddDest)
	case 'e':
		err = ps.setCommand(CmdEditDest)
	case 'd':
		err = ps.setCommand(CmdDelDest)
	case 'C':
		err = ps.setCommand(CmdFlush)
	case 'L', 'l':
		err = ps.setCommand(CmdList)
	case 'Z':
		err = ps.setCommand(CmdZero)
	case tagSet:
		err = ps.setCommand(CmdTimeout)
	case 'R':
		err = ps.setCommand(CmdRestore)
	case 'S':
		err = ps.setCommand(CmdSave)
	case tagStartDaemon, tagStopDaemon:
		c, msg := CmdStartDaemon, "illegal start-daemon parameter specified"
		if val == tagStopDaemon {
			c, msg = CmdStopDaemon, "illegal start_daemon specified"
		}
		err = ps.setCommand(c)
		switch arg {
		case "master":
			ce.Daemon.State = ipvs.SyncMaster
		case "backup":
			ce.Daemon.State = ipvs.SyncBackup
		default:
			return fail("%s", msg)
		}
	case 'h':
		ce.Cmd = CmdHelp
		return nil
	case 'v':
		ce.Cmd = CmdVersion
		return nil
	default:
		return tryHelp(ps.prog)
	}
	if err != nil {
		return err
	}

	var schedFlagsArg string
	for {
		val, arg, hasArg, done, perr := p.nextOpt()
		if done {
			break
		}
		if perr != "" {
			return &ExitErr{Code: ExitError, Msg: p.bad + ": " + perr, Return: true}
		}
		if err := ps.option(val, arg, hasArg, &schedFlagsArg); err != nil {
			if e, ok := err.(*ExitErr); ok && e.Msg == "" {
				e.Msg = fmt.Sprintf("invalid option `%s'", p.argv[p.next-1])
			}
			return err
		}
	}
	lo := p.leftovers
	if ce.Cmd == CmdTimeout {
		if len(lo) < 3 {
			return fail("--set option requires 3 timeout values")
		}
		for i := range 3 {
			t, err := parseTimeout(lo[i], true, 0, maxTimeout)
			if err != nil {
				return err
			}
			ce.Timeouts[i] = uint32(t)
		}
		lo = lo[3:]
	}
	if len(lo) > 0 {
		return fail("unexpected argument %s", lo[0])
	}
	if schedFlagsArg != "" {
		ce.Service.Flags &^= ipvs.FlagSched1 | ipvs.FlagSched2 | ipvs.FlagSched3
		f, err := parseSchedFlags(ce.Service.Sched, schedFlagsArg)
		if err != nil {
			return err
		}
		ce.Service.Flags |= f
	}
	return nil
}

// option handles one option after the command. An *ExitErr with an empty
// message means "invalid option" (filled in by the caller).
func (ps *parser) option(val int, arg string, hasArg bool, schedFlagsArg *string) error {
	ce := &ps.ce
	switch val {
	case 't', 'u', tagSCTPService:
		if err := ps.setOption(optcService); err != nil {
			return err
		}
		ce.Service.Protocol = map[int]ipvs.Protocol{'t': ipvs.TCP, 'u': ipvs.UDP, tagSCTPService: ipvs.SCTP}[val]
		r := parseService(arg, &ce.Service, ps.res)
		if r&serviceAddr == 0 {
			return fail("illegal virtual server address[:port] specified")
		}
	case 'f':
		if err := ps.setOption(optcService); err != nil {
			return err
		}
		ce.Service.Family = ipvs.FamilyIPv4
		ce.Service.Protocol = ipvs.TCP
		m, ok := parseFwmark(arg)
		if !ok {
			return fail("invalid fwmark value `%s' specified", arg)
		}
		ce.Service.FWMark = m
	case 's':
		if err := ps.setOption(optcScheduler); err != nil {
			return err
		}
		ce.Service.Sched = truncate(arg, 15) // IP_VS_SCHEDNAME_MAXLEN - 1
	case 'p':
		if err := ps.setOption(optcPersistent); err != nil {
			return err
		}
		ce.Service.Flags |= ipvs.FlagPersistent
		t, err := parseTimeout(arg, hasArg, 1, maxTimeout)
		if err != nil {
			return err
		}
		ce.Service.Timeout = uint32(t)
	case 'M':
		if err := ps.setOption(optcNetmask); err != nil {
			return err
		}
		if ce.Service.Family != ipvs.FamilyIPv6 {
			m, ok := parseNetmask(arg, ps.res)
			if !ok {
				return fail("illegal virtual server persistent mask specified")
			}
			ce.Service.Netmask = m
		} else {
			n := atoi(arg)
			if n < 1 || n > 128 {
				return fail("illegal ipv6 netmask specified")
			}
			ce.Service.Netmask = uint32(n)
		}
	case 'r':
		if err := ps.setOption(optcServer); err != nil {
			return err
		}
		t := ce.Service
		r := parseService(arg, &t, ps.res)
		ce.Dest.Addr = t.Addr
		ce.Dest.Port = t.Port
		if r&serviceAddr == 0 {
			return fail("illegal real server address[:port] specified")
		}
		if r == serviceAddr {
			ce.Dest.Port = ce.Service.Port
		}
	case 'i', 'g', 'm':
		if err := ps.setOption(optcForward); err != nil {
			return err
		}
		ce.Dest.Method = map[int]ipvs.Method{'i': ipvs.Tunnel, 'g': ipvs.DR, 'm': ipvs.Masq}[val]
	case 'w':
		if err := ps.setOption(optcWeight); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 0, math.MaxInt32)
		if !ok {
			return fail("illegal weight specified")
		}
		ce.Dest.Weight = int32(n)
	case 'x':
		if err := ps.setOption(optcUThreshold); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 0, math.MaxInt32)
		if !ok {
			return fail("illegal u_threshold specified")
		}
		ce.Dest.UThresh = uint32(n)
	case 'y':
		if err := ps.setOption(optcLThreshold); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 0, math.MaxInt32)
		if !ok {
			return fail("illegal l_threshold specified")
		}
		ce.Dest.LThresh = uint32(n)
	case 'c':
		return ps.setOption(optcConnection)
	case 'n':
		ce.Format |= FmtNumeric
		return ps.setOption(optcNumeric)
	case tagMcastInterface:
		if err := ps.setOption(optcMcast); err != nil {
			return err
		}
		ce.Daemon.Interface = truncate(arg, 15)
	case 'I':
		if err := ps.setOption(optcSyncID); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 0, 255)
		if !ok {
			return fail("illegal syncid specified")
		}
		ce.Daemon.SyncID = uint32(n)
	case tagTimeout:
		return ps.setOption(optcTimeout)
	case tagDaemon:
		return ps.setOption(optcDaemon)
	case tagStats:
		ce.Format |= FmtStats
		return ps.setOption(optcStats)
	case tagRate:
		ce.Format |= FmtRate
		return ps.setOption(optcRate)
	case tagThresholds:
		ce.Format |= FmtThresholds
		return ps.setOption(optcThresholds)
	case tagPersistentConn:
		ce.Format |= FmtPersistConn
		return ps.setOption(optcPersistentConn)
	case tagNoSort:
		ce.Format |= FmtNoSort
		return ps.setOption(optcNoSort)
	case tagSort:
		// the default; a no-op kept for compatibility
	case 'X':
		ce.Format |= FmtExact
		return ps.setOption(optcExact)
	case '6':
		if ce.Service.FWMark == 0 {
			return fail("-6 used before -f\n")
		}
		ce.Service.Family = ipvs.FamilyIPv6
		ce.Service.Netmask = 128
	case 'o':
		if err := ps.setOption(optcOnePacket); err != nil {
			return err
		}
		ce.Service.Flags |= ipvs.FlagOnePacket
	case tagPE:
		if err := ps.setOption(optcPE); err != nil {
			return err
		}
		ce.Service.PE = truncate(arg, 32)
	case 'b':
		if err := ps.setOption(optcSchedFlags); err != nil {
			return err
		}
		*schedFlagsArg = truncate(arg, 127)
	case tagMcastGroup:
		if err := ps.setOption(optcMcastGroup); err != nil {
			return err
		}
		a, err := netip.ParseAddr(arg)
		if strings.Contains(arg, ":") {
			if err != nil || !a.Is6() || a.Zone() != "" || !a.IsMulticast() {
				return fail("invalid IPv6 mcast-group `%s'", arg)
			}
		} else if err != nil || !a.Is4() || !a.IsMulticast() {
			return fail("invalid IPv4 mcast-group `%s'", arg)
		}
		ce.Daemon.McastGroup = a
	case tagMcastPort:
		if err := ps.setOption(optcMcastPort); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 1, 65535)
		if !ok {
			return fail("illegal mcast-port specified")
		}
		ce.Daemon.McastPort = uint16(n)
	case tagMcastTTL:
		if err := ps.setOption(optcMcastTTL); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 1, 255)
		if !ok {
			return fail("illegal mcast-ttl specified")
		}
		ce.Daemon.McastTTL = uint8(n)
	case tagSyncMaxLen:
		if err := ps.setOption(optcSyncMaxLen); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 1, 65535-20-8)
		if !ok {
			return fail("illegal sync-maxlen specified")
		}
		ce.Daemon.MaxLen = uint16(n)
	case tagTunInfo:
		ce.Format |= FmtTunInfo
		return ps.setOption(optcTunInfo)
	case tagTunType:
		if err := ps.setOption(optcTunType); err != nil {
			return err
		}
		switch arg {
		case "ipip":
			ce.Dest.TunType = ipvs.TunnelIPIP
		case "gue":
			ce.Dest.TunType = ipvs.TunnelGUE
		case "gre":
			ce.Dest.TunType = ipvs.TunnelGRE
		default:
			return fail("illegal tunnel type specified")
		}
	case tagTunPort:
		if err := ps.setOption(optcTunPort); err != nil {
			return err
		}
		n, ok := stringToNumber(arg, 1, 65535)
		if !ok {
			return fail("illegal tunnel port specified")
		}
		ce.Dest.TunPort = uint16(n)
	case tagTunNoCsum:
		return ps.setOption(optcTunNoCsum)
	case tagTunCsum:
		ce.Dest.TunFlags |= ipvs.TunnelCsum
		return ps.setOption(optcTunCsum)
	case tagTunRemCsum:
		ce.Dest.TunFlags |= ipvs.TunnelRemCsum
		return ps.setOption(optcTunRemCsum)
	default:
		return &ExitErr{Code: ExitUsage}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func genericOptCheck(cmd Cmd, options Opt) error {
	row := &commandsVOptions[cmd-1]
	last, count := 0, 0
	for j := range numOpts {
		if options&(1<<j) == 0 {
			if row[j] == '+' {
				return fail("You need to supply the '%s' option for the '%s' command", optNames[j], cmdNames[cmd-1])
			}
			continue
		}
		switch row[j] {
		case 'x':
			return fail("Illegal '%s' option with the '%s' command", optNames[j], cmdNames[cmd-1])
		case '1':
			count++
			if count == 1 {
				last = j
				continue
			}
			return fail("The option '%s' conflicts with the '%s' option in the '%s' command", optNames[j], optNames[last], cmdNames[cmd-1])
		}
	}
	return nil
}

var tunNames = [3]string{"ipip", "gue", "gre"}

func tunnelOptCheck(t ipvs.TunnelType, options Opt) error {
	if int(t) >= len(tunnelTypesVOptions) {
		return nil
	}
	row := &tunnelTypesVOptions[t]
	last, count := 0, 0
	for j, k := range tunOpts {
		if options&(1<<k) == 0 {
			if row[j] == '+' {
				return fail("You need to supply the '%s' option for the '%s' tunnel type", optNames[k], tunNames[t])
			}
			continue
		}
		switch row[j] {
		case 'x':
			return fail("Illegal '%s' option with the '%s' tunnel type", optNames[k], tunNames[t])
		case '1':
			count++
			if count == 1 {
				last = k
				continue
			}
			return fail("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", optNames[k], optNames[last], tunNames[t])
		}
	}
	return nil
}

// strtol is C's strtol(s, &end, 10): leading white space, a sign, digits. It
// returns the value, the unparsed rest, whether digits were read, and whether
// the value overflowed a 64-bit long.
func strtol(s string) (n int64, rest string, ok, overflow bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			overflow = true
		} else {
			u = u*10 + d
		}
		i++
	}
	if i == start {
		return 0, s, false, false
	}
	if !neg && u > math.MaxInt64 || neg && u > 1<<63 {
		overflow = true
	}
	if overflow {
		if neg {
			return math.MinInt64, s[i:], true, true
		}
		return math.MaxInt64, s[i:], true, true
	}
	if neg {
		return -int64(u), s[i:], true, false
	}
	return int64(u), s[i:], true, false
}

// stringToNumber is ipvsadm's string_to_number: a whole decimal number in
// [min, max].
func stringToNumber(s string, min, max int64) (int64, bool) {
	n, rest, ok, overflow := strtol(s)
	if !ok || rest != "" || overflow || n < min || n > max {
		return 0, false
	}
	return n, true
}

// atoi is C's atoi (saturating like glibc's strtol-based atoi, truncated to int).
func atoi(s string) int64 {
	n, _, _, _ := strtol(s)
	return int64(int32(n))
}

func parseTimeout(s string, has bool, min, max int64) (int64, error) {
	if !has {
		return DefaultPersistentTimeout, nil
	}
	n, ok := stringToNumber(s, min, max)
	if !ok {
		return 0, fail("invalid timeout value `%s' specified", s)
	}
	return n, nil
}

func parseFwmark(s string) (uint32, bool) {
	n, rest, ok, overflow := strtol(s)
	if !ok || rest != "" || overflow || n <= 0 || n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

func parseNetmask(s string, r Resolver) (uint32, bool) {
	if a, ok := inetAton(s); ok {
		return a, true
	}
	if a, ok := r.LookupHost4(s); ok {
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	}
	return 0, false
}

// inetAton is glibc's inet_aton: 1 to 4 parts, each decimal, octal (0...) or
// hex (0x...), the last part filling the remaining bytes; trailing white
// space ends the address. It returns the address as a 32-bit value.
func inetAton(s string) (uint32, bool) {
	var parts []uint64
	i := 0
	for {
		if i >= len(s) || !(s[i] >= '0' && s[i] <= '9') {
			return 0, false
		}
		base := uint64(10)
		if s[i] == '0' {
			base = 8
			i++
			if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
				base = 16
				i++
			}
		}
		var v uint64
		for i < len(s) {
			c := s[i]
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
				if base == 8 && d >= 8 {
					return 0, false
				}
			case base == 16 && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				goto end
			}
			v = v*base + d
			if v > math.MaxUint32 {
				return 0, false
			}
			i++
		}
	end:
		parts = append(parts, v)
		if i < len(s) && s[i] == '.' {
			if len(parts) == 4 {
				return 0, false
			}
			i++
			continue
		}
		break
	}
	if i < len(s) && !(s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		return 0, false
	}
	var val uint64
	switch len(parts) {
	case 1:
		val = parts[0]
	case 2:
		if parts[0] > 0xff || parts[1] > 0xffffff {
			return 0, false
		}
		val = parts[0]<<24 | parts[1]
	case 3:
		if parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xffff {
			return 0, false
		}
		val = parts[0]<<24 | parts[1]<<16 | parts[2]
	case 4:
		for _, p := range parts {
			if p > 0xff {
				return 0, false
			}
		}
		val = parts[0]<<24 | parts[1]<<16 | parts[2]<<8 | parts[3]
	}
	return uint32(val), true
}

const (
	serviceAddr = 1
	servicePort = 2
)

// parseService is ipvsadm's parse_service: host[:port] or [v6]:port, host
// an address or (IPv4) host name, port a number or service name.
func parseService(buf string, svc *ServiceSpec, r Resolver) int {
	if isAllDigits(buf) {
		return 0
	}
	var port string
	hasPort := false
	if strings.HasPrefix(buf, "[") {
		buf = buf[1:]
		i := strings.IndexByte(buf, ']')
		if i < 0 {
			return 0
		}
		rest := buf[i+1:]
		buf = buf[:i]
		if !strings.HasPrefix(rest, ":") {
			return 0
		}
		port, hasPort = rest[1:], true
	}
	if a, err := netip.ParseAddr(buf); err == nil && a.Is6() && a.Zone() == "" {
		svc.Addr = a
		svc.Family = ipvs.FamilyIPv6
		svc.Netmask = 128
	} else {
		hasPort = false
		if i := strings.LastIndexByte(buf, ':'); i >= 0 {
			port, hasPort = buf[i+1:], true
			buf = buf[:i]
		}
		if v, ok := inetAton(buf); ok {
			svc.Addr = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else if a, ok := r.LookupHost4(buf); ok {
			svc.Addr = a
		} else {
			return 0
		}
		svc.Family = ipvs.FamilyIPv4
	}
	result := serviceAddr
	if hasPort {
		result |= servicePort
		if n, ok := stringToNumber(port, 0, 65535); ok {
			svc.Port = uint16(n)
		} else if n, ok := r.LookupPort(port, svc.Protocol); ok {
			svc.Port = n
		} else {
			return 0
		}
	}
	return result
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseSchedFlags(sched, arg string) (ipvs.ServiceFlags, error) {
	if sched == "" {
		sched = ipvs.DefaultScheduler
	}
	var flags ipvs.ServiceFlags
	toks := strings.FieldsFunc(arg, func(r rune) bool { return r == ',' })
	if len(toks) == 0 {
		return 0, fail("invalid scheduler flag `%s'", "")
	}
	for _, f := range toks {
		switch f {
		case "flag-1":
			flags |= ipvs.FlagSched1
		case "flag-2":
			flags |= ipvs.FlagSched2
		case "flag-3":
			flags |= ipvs.FlagSched3
		case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
			if f[:2] != sched {
				return 0, fail("incompatible scheduler flag `%s'", f)
			}
			if strings.HasSuffix(f, "fallback") {
				flags |= ipvs.FlagSched1
			} else {
				flags |= ipvs.FlagSched2
			}
		default:
			return 0, fail("invalid scheduler flag `%s'", f)
		}
	}
	return flags, nil
}
