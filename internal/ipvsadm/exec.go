package ipvsadm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// Env is what Run needs: standard streams, the kernel (opened on first use
// by Open when Kernel is nil) and the name resolver.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Kernel         ipvs.Kernel
	Open           func() (ipvs.Kernel, error)
	Resolver       Resolver
}

// Main runs ipvsadm with args (args[0] is the program name used in messages)
// on the kernel of the current network namespace and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{
		Stdin:    os.Stdin,
		Stdout:   stdout,
		Stderr:   stderr,
		Open:     func() (ipvs.Kernel, error) { return ipvs.NewNetlink() },
		Resolver: &SystemResolver{},
	}
	code := env.Run(args)
	if c, ok := env.Kernel.(io.Closer); ok {
		c.Close()
	}
	return code
}

// Run runs one ipvsadm invocation and returns its exit code.
func (e *Env) Run(args []string) int {
	if len(args) == 0 {
		args = []string{"ipvsadm"}
	}
	if len(args) == 1 {
		k, code := e.kernel()
		if k == nil {
			return code
		}
		return e.listAll(k, 0)
	}
	code, _ := e.process(args, false)
	return code
}

// exitNow marks an exit code that ends the whole run (ipvsadm's exit() and
// fail()), as opposed to a command's result during -R.
type exitNow bool

func (e *Env) kernel() (ipvs.Kernel, int) {
	if e.Kernel != nil {
		return e.Kernel, 0
	}
	var err error
	if e.Open != nil {
		e.Kernel, err = e.Open()
	} else {
		err = errors.New("no kernel")
	}
	if err != nil {
		reason := "Protocol not available"
		var errno syscall.Errno
		if errors.As(err, &errno) && !errors.Is(err, ipvs.ErrNoIPVS) {
			reason = strerror("", errno)
		}
		fmt.Fprintf(e.Stderr, "Can't initialize ipvs: %s\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", reason)
		e.Kernel = nil
		return nil, ExitUsage
	}
	return e.Kernel, 0
}

// process is ipvsadm's process_options: it returns the exit code and whether
// it must end the run now.
func (e *Env) process(args []string, readingStdin bool) (int, exitNow) {
	r := e.Resolver
	if r == nil {
		r = NumericResolver{}
	}
	ce, err := Parse(args, r)
	if err != nil {
		var xe *ExitErr
		if errors.As(err, &xe) {
			fmt.Fprintln(e.Stderr, xe.Msg)
			return xe.Code, exitNow(!xe.Return)
		}
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage, true
	}
	switch ce.Cmd {
	case CmdHelp:
		writeUsage(e.Stdout, args[0])
		return ExitOK, true
	case CmdVersion:
		fmt.Fprintln(e.Stdout, versionLine)
		return ExitOK, true
	case CmdRestore:
		if readingStdin {
			fmt.Fprintln(e.Stderr, tryHelp(args[0]).Msg)
			return ExitError, true
		}
		return e.restore(args[0])
	}
	k, code := e.kernel()
	if k == nil {
		return code, true
	}
	switch ce.Cmd {
	case CmdList:
		var code int
		switch {
		case ce.Options&OptConnection != 0:
			code = e.listConns(k, ce.Format)
		case ce.Options&OptService != 0:
			code = e.listService(k, ce)
		case ce.Options&OptTimeout != 0:
			t, err := k.Timeouts()
			if err != nil {
				return ExitFailure, true
			}
			WriteTimeouts(e.Stdout, t)
		case ce.Options&OptDaemon != 0:
			ds, err := k.SyncDaemons()
			if err != nil {
				return ExitFailure, true
			}
			WriteDaemons(e.Stdout, ds)
		default:
			code = e.listAll(k, ce.Format)
		}
		return code, code != 0
	case CmdSave:
		code := e.listAll(k, ce.Format)
		return code, code != 0
	}

	var opErr error
	op := ""
	switch ce.Cmd {
	case CmdFlush:
		op, opErr = "flush", k.Flush()
	case CmdAdd, CmdEdit:
		s, err := ce.service()
		if err != nil {
			fmt.Fprintln(e.Stderr, err.(*ExitErr).Msg)
			return ExitUsage, true
		}
		if ce.Cmd == CmdAdd {
			op, opErr = "add_service", k.NewService(s)
		} else {
			op, opErr = "update_service", k.UpdateService(s)
		}
	case CmdDel:
		op, opErr = "del_service", k.DelService(ce.Service.Key())
	case CmdZero:
		op = "zero_service"
		if ce.Options&OptService != 0 {
			opErr = k.Zero(ce.Service.Key())
		} else {
			opErr = k.ZeroAll()
		}
	case CmdAddDest:
		op, opErr = "add_dest", k.NewDestination(ce.Service.Key(), ce.dest())
	case CmdEditDest:
		op, opErr = "update_dest", k.UpdateDestination(ce.Service.Key(), ce.dest())
	case CmdDelDest:
		op, opErr = "del_dest", k.DelDestination(ce.Service.Key(), ce.dest())
	case CmdTimeout:
		op, opErr = "set_timeout", k.SetTimeouts(ipvs.Timeouts{
			TCP:    time.Duration(ce.Timeouts[0]) * time.Second,
			TCPFin: time.Duration(ce.Timeouts[1]) * time.Second,
			UDP:    time.Duration(ce.Timeouts[2]) * time.Second,
		})
	case CmdStartDaemon:
		op, opErr = "start_daemon", k.StartSyncDaemon(ce.Daemon)
	case CmdStopDaemon:
		op, opErr = "stop_daemon", k.StopSyncDaemon(ce.Daemon.State)
	}
	if opErr != nil {
		fmt.Fprintln(e.Stderr, ipvsStrerror(op, opErr))
		return ExitError, false
	}
	return ExitOK, false
}

// restore is ipvsadm -R: every stdin line is one command line (a leading or
// any "ipvsadm" word is ignored). The result is that of the last command.
func (e *Env) restore(prog string) (int, exitNow) {
	in := e.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	result := ExitOK
	for sc.Scan() {
		words := strings.Fields(sc.Text())
		args := []string{prog}
		for _, w := range words {
			if w != "ipvsadm" {
				args = append(args, w)
			}
		}
		if len(args) < 2 || strings.HasPrefix(args[1], "#") {
			continue
		}
		code, stop := e.process(args, true)
		if stop && code != ExitOK {
			return code, true
		}
		result = code
	}
	return result, false
}

func (e *Env) table(k ipvs.Kernel) (*ipvs.Table, bool) {
	t, err := k.Table()
	if err != nil {
		fmt.Fprintln(e.Stderr, ipvsStrerror("get_services", err))
		return nil, false
	}
	return &t, true
}

func (e *Env) listAll(k ipvs.Kernel, f Format) int {
	var info ipvs.Info
	if f&FmtRule == 0 {
		var err error
		if info, err = k.Info(); err != nil {
			fmt.Fprintln(e.Stderr, ipvsStrerror("get_info", err))
			return ExitFailure
		}
	}
	t, ok := e.table(k)
	if !ok {
		return ExitFailure
	}
	if err := WriteList(e.Stdout, info, t, f, e.Resolver); err != nil {
		return ExitFailure
	}
	return ExitOK
}

func (e *Env) listService(k ipvs.Kernel, ce *Command) int {
	t, ok := e.table(k)
	if !ok {
		return ExitFailure
	}
	s := t.Service(ce.Service.Key())
	if s == nil {
		fmt.Fprintln(e.Stderr, "No such service")
		return ExitFailure
	}
	if err := WriteService(e.Stdout, s, ce.Format, e.Resolver); err != nil {
		return ExitFailure
	}
	return ExitOK
}

func (e *Env) listConns(k ipvs.Kernel, f Format) int {
	conns, err := k.Connections()
	if err != nil {
		fmt.Fprintln(e.Stderr, "cannot open file /proc/net/ip_vs_conn")
		return ExitFailure
	}
	if err := WriteConnections(e.Stdout, conns, f, e.Resolver); err != nil {
		return ExitFailure
	}
	return ExitOK
}

// service converts the command's service to the ipvs model.
func (ce *Command) service() (ipvs.Service, error) {
	sp := &ce.Service
	s := ipvs.Service{
		Key:       sp.Key(),
		Scheduler: sp.Sched,
		Flags:     sp.Flags,
		Timeout:   sp.Timeout,
		PEName:    sp.PE,
	}
	if sp.Family == ipvs.FamilyIPv6 {
		s.Netmask = uint8(min(sp.Netmask, 128))
	} else {
		n := bits.LeadingZeros32(^sp.Netmask)
		if sp.Netmask<<n != 0 {
			return s, fail("illegal virtual server persistent mask specified (not contiguous)")
		}
		s.Netmask = uint8(n)
	}
	return s, nil
}

// dest converts the command's real server to the ipvs model.
func (ce *Command) dest() ipvs.Destination {
	d := &ce.Dest
	return ipvs.Destination{
		Addr:           d.Addr,
		Port:           d.Port,
		Method:         d.Method,
		Weight:         d.Weight,
		UpperThreshold: d.UThresh,
		LowerThreshold: d.LThresh,
		TunType:        d.TunType,
		TunPort:        d.TunPort,
		TunFlags:       d.TunFlags,
	}
}

// ipvsStrerror is libipvs's ipvs_strerror: messages per operation and errno.
func ipvsStrerror(op string, err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	return strerror(op, errno)
}

func strerror(op string, errno syscall.Errno) string {
	type key struct {
		op    string
		errno syscall.Errno
	}
	table := map[key]string{
		{"add_service", syscall.EEXIST}:    "Service already exists",
		{"add_service", syscall.ENOENT}:    "Scheduler or persistence engine not found",
		{"update_service", syscall.ESRCH}:  "No such service",
		{"update_service", syscall.ENOENT}: "Scheduler or persistence engine not found",
		{"del_service", syscall.ESRCH}:     "No such service",
		{"zero_service", syscall.ESRCH}:    "No such service",
		{"add_dest", syscall.ESRCH}:        "Service not defined",
		{"add_dest", syscall.EEXIST}:       "Destination already exists",
		{"update_dest", syscall.ESRCH}:     "Service not defined",
		{"update_dest", syscall.ENOENT}:    "No such destination",
		{"del_dest", syscall.ESRCH}:        "Service not defined",
		{"del_dest", syscall.ENOENT}:       "No such destination",
		{"start_daemon", syscall.EEXIST}:   "Daemon has already run",
		{"stop_daemon", syscall.ESRCH}:     "No daemon is running",
		{"get_services", syscall.ESRCH}:    "No such service",
		{"get_dests", syscall.ESRCH}:       "No such service",
		{"get_service", syscall.ESRCH}:     "No such service",
	}
	if m, ok := table[key{op, errno}]; ok {
		return m
	}
	switch errno {
	case syscall.EPERM:
		return "Permission denied (you must be root)"
	case syscall.EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case syscall.ENOPROTOOPT:
		return "Protocol not available"
	case syscall.ENOMEM:
		return "Memory allocation problem"
	case syscall.EOPNOTSUPP:
		return "Operation not supported with IPv6"
	case syscall.EAFNOSUPPORT:
		return "Operation not supported with specified address family"
	case syscall.EMSGSIZE:
		return "Module is wrong version"
	}
	s := errno.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
