package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/buildinfo"
	"github.com/lvs-ha/lvs-ha/internal/daemon"
	"github.com/lvs-ha/lvs-ha/internal/gcpace"
	"github.com/lvs-ha/lvs-ha/internal/ipvsadm"
	"github.com/lvs-ha/lvs-ha/internal/status"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

type env struct {
	prog           string
	stdout, stderr io.Writer
}

type command struct {
	name    string
	summary string
	args    string        // usage after the flags
	more    func() string // help text after the flags
	// setup defines flags and returns the function that runs with the remaining args.
	setup func(e *env, fs *flag.FlagSet) func(args []string) int
	// raw, when set, runs the command with its arguments unparsed (for
	// commands with their own command line, like ipvsadm).
	raw func(e *env, args []string) int
}

func commands() []command {
	return []command{
		{name: "run", summary: "run the director (VRRP, IPVS, health checks) until SIGTERM", setup: setupRun},
		{name: "check-config", summary: "validate a configuration file, like keepalived -t", setup: setupCheck},
		{name: "dump-config", summary: "print the normalized, typed configuration as JSON", setup: setupDump},
		{name: "genhash", summary: "print the MD5 digest of a web page for HTTP_GET/SSL_GET digest, like keepalived's genhash", args: genhashArgs, setup: setupGenhash},
		{name: "realserver", summary: "prepare this host as an LVS-DR or LVS-TUN real server (VIPs on lo or tunl0, ARP sysctls)", args: realserverArgs, setup: setupRealserver},
		{name: "doctor", summary: "find host settings that break LVS (forwarding, rp_filter, ARP, modules, firewall) and print their fixes", args: doctorArgs, setup: setupDoctor, more: doctorHelp},
		{name: "status", summary: statusSummary, setup: setupStatus},
		{name: "reload", summary: "make the running daemon reload its configuration (SIGHUP)", setup: setupReload},
		{name: "version", summary: "print the version", setup: setupVersion},
		{name: "ipvsadm", summary: "ipvsadm-compatible IPVS administration (ipvsadm -h for its options)", raw: runIpvsadm},
	}
}

// Main runs the command line args (args[0] is the program name) and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	e := &env{prog: filepath.Base(args[0]), stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		e.usage(stderr)
		return ExitUsage
	}
	name, rest := args[1], args[2:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return e.runCommand(rest[0], []string{"-h"})
		}
		e.usage(stdout)
		return ExitOK
	case "-v", "-version", "--version":
		name = "version"
	}
	return e.runCommand(name, rest)
}

func (e *env) runCommand(name string, args []string) int {
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if c.raw != nil {
			return c.raw(e, args)
		}
		fs := flag.NewFlagSet(e.prog+" "+c.name, flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		run := c.setup(e, fs)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "Usage: %s %s [flags]%s\n\n%s.\n", e.prog, c.name, c.args, upperFirst(c.summary))
			if hasFlags(fs) {
				fmt.Fprintf(fs.Output(), "\nFlags:\n")
				fs.PrintDefaults()
			}
			if c.more != nil {
				fmt.Fprint(fs.Output(), c.more())
			}
		}
		// Parse prints the usage itself, for -h as for a bad flag (after
		// its error): kept until Parse says which, so that -h's goes to
		// stdout only and a bad flag's to stderr.
		var parseOut bytes.Buffer
		fs.SetOutput(&parseOut)
		err := fs.Parse(args)
		fs.SetOutput(e.stderr)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, _ = parseOut.WriteTo(e.stdout)
				return ExitOK
			}
			_, _ = parseOut.WriteTo(e.stderr)
			return ExitUsage
		}
		return run(fs.Args())
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", e.prog, name)
	e.usage(e.stderr)
	return ExitUsage
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s COMMAND [flags]\n\nA Linux Virtual Server director that reads keepalived.conf.\n\nCommands:\n", e.prog)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s help COMMAND' or '%s COMMAND -h' for a command's flags.\n", e.prog, e.prog)
	fmt.Fprintf(w, "Default configuration file: %s\n", conf.DefaultPath)
	fmt.Fprintf(w, "Exit codes: 0 success, 1 failure (e.g. invalid configuration), 2 bad command line.\n")
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// configFlags are shared by every command that reads a configuration.
type configFlags struct {
	file     string
	configID string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "f", conf.DefaultPath, "configuration `file` (keepalived.conf syntax)")
	fs.StringVar(&c.file, "use-file", conf.DefaultPath, "same as -f")
	fs.StringVar(&c.configID, "config-id", "", "`id` selecting @ID conditional lines (default: short hostname)")
	fs.StringVar(&c.configID, "i", "", "same as -config-id")
}

// load parses and validates; it prints every diagnostic to w and reports whether the
// configuration is usable.
func (c *configFlags) load(w io.Writer) (*conf.Config, syntax.Diagnostics, bool) {
	cfg, ds := loadConfig(c.file, conf.Options{ConfigID: c.configID})
	for _, d := range ds {
		fmt.Fprintln(w, d.String())
	}
	return cfg, ds, !ds.HasErrors()
}

// loadConfig is check-config's and dump-config's validation: conf's, then,
// when it found no error, the daemon's build of every component's options
// (daemon.Check); run and reload build the same way (daemon.Load,
// Daemon.ReloadFile).
func loadConfig(file string, o conf.Options) (*conf.Config, syntax.Diagnostics) {
	cfg, ds := conf.Load(file, o)
	if !ds.HasErrors() {
		ds = append(ds, daemon.Check(cfg)...)
	}
	return cfg, ds
}

func noArgs(e *env, fs *flag.FlagSet, args []string) bool {
	if len(args) == 0 {
		return true
	}
	fmt.Fprintf(e.stderr, "%s: unexpected argument %q\n", fs.Name(), args[0])
	fs.Usage()
	return false
}

func setupCheck(e *env, fs *flag.FlagSet) func([]string) int {
	var cf configFlags
	cf.register(fs)
	quiet := fs.Bool("q", false, "print nothing when the configuration is valid")
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		_, ds, ok := cf.load(e.stderr)
		if !ok {
			n := 0
			for _, d := range ds {
				if d.Severity == syntax.Error {
					n++
				}
			}
			fmt.Fprintf(e.stderr, "%s: %d error(s); configuration is not valid\n", cf.file, n)
			return ExitFailure
		}
		if !*quiet {
			fmt.Fprintf(e.stdout, "%s: configuration is valid\n", cf.file)
		}
		return ExitOK
	}
}

func setupDump(e *env, fs *flag.FlagSet) func([]string) int {
	var cf configFlags
	cf.register(fs)
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		cfg, _, ok := cf.load(e.stderr)
		if !ok {
			return ExitFailure
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		return ExitOK
	}
}

func setupVersion(e *env, fs *flag.FlagSet) func([]string) int {
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		rev := buildinfo.Revision()
		if rev != "" {
			rev = " (" + rev + ")"
		}
		fmt.Fprintf(e.stdout, "lvs-ha %s%s %s %s/%s\n", buildinfo.Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return ExitOK
	}
}

func runIpvsadm(e *env, args []string) int {
	return ipvsadm.Main(append([]string{"ipvsadm"}, args...), e.stdout, e.stderr)
}

func setupRun(e *env, fs *flag.FlagSet) func([]string) int {
	var cf configFlags
	cf.register(fs)
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	statusAddr := fs.String("status-addr", status.DefaultAddr, "`address` serving /metrics and /status (\"\" or \"off\" disables)")
	dumpFile := fs.String("dump-file", daemon.DefaultDumpFile, "`file` SIGUSR1 writes the state to")
	pidFile := fs.String("pid-file", DefaultPIDFile, "`file` to record the PID in, for `lvs-ha reload` (\"\" disables)")
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		log, err := newLogger(e.stderr, *logFormat, *logLevel)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitUsage
		}
		// Before anything else: SIGHUP's default action would kill us.
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
		defer signal.Stop(sigs)
		copts := conf.Options{ConfigID: cf.configID}
		addr := *statusAddr
		if addr == "off" {
			addr = ""
		}
		d, ds, err := daemon.Load(cf.file, copts, daemon.Options{
			Logger:        log,
			StatusAddr:    addr,
			ConfigFile:    cf.file,
			ConfigOptions: copts,
			Signals:       sigs,
			DumpFile:      *dumpFile,
			// GOGC's pacing without the forced collection every two
			// minutes, unless the environment sets GOGC.
			GC: pacer(),
			// Control-plane tests (BGP) on hosts without ip_vs.
			InMemoryIPVS: os.Getenv("LVSHA_TEST_IN_MEMORY_IPVS") == "1",
		})
		for _, d := range ds {
			if d.Severity == syntax.Error {
				log.Error("config", "error", d.String())
			} else {
				log.Warn("config", "warning", d.String())
			}
		}
		if ds.HasErrors() {
			log.Error("configuration is not valid; not starting", "file", cf.file)
			return ExitFailure
		}
		if err != nil {
			log.Error("cannot start", "error", err)
			return ExitFailure
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		removePID, err := writePIDFile(*pidFile)
		if err != nil {
			log.Warn("lvs-ha reload will not find this daemon", "error", err)
		}
		defer removePID()
		if err := d.Run(ctx); err != nil {
			log.Error("daemon failed", "error", err)
			return ExitFailure
		}
		log.Info("stopped")
		return ExitOK
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		// Full resolution: failover drills and benchmarks compare log
		// timestamps with packet captures.
		if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
		}
		return a
	}}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// pacer is the run command's collector pacing (gcpace), or nil when the
// environment sets GOGC.
func pacer() daemon.GCPacer {
	if p := gcpace.New(100); p != nil {
		return p
	}
	return nil
}
