package ipvsadm

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// Companion names: the scripts Debian's ipvsadm 1.31 package installs next to
// the ipvsadm binary (/usr/sbin/ipvsadm-save and /usr/sbin/ipvsadm-restore).
const (
	SaveName    = "ipvsadm-save"
	RestoreName = "ipvsadm-restore"
)

// Tool returns the entry point for a program name (the base name of argv[0])
// that is ipvsadm or one of its companions, and false for any other name.
func Tool(name string) (func(args []string, stdout, stderr io.Writer) int, bool) {
	switch filepath.Base(name) {
	case "ipvsadm":
		return Main, true
	case SaveName:
		return SaveMain, true
	case RestoreName:
		return RestoreMain, true
	}
	return nil, false
}

func newEnv(stdout, stderr io.Writer) *Env {
	return &Env{
		Stdin:    os.Stdin,
		Stdout:   stdout,
		Stderr:   stderr,
		Open:     func() (ipvs.Kernel, error) { return ipvs.NewNetlink() },
		Resolver: &SystemResolver{},
	}
}

func closeKernel(e *Env) {
	if c, ok := e.Kernel.(io.Closer); ok {
		c.Close()
	}
	e.Kernel = nil
}

// SaveMain is ipvsadm-save on the kernel of this network namespace.
func SaveMain(args []string, stdout, stderr io.Writer) int {
	e := newEnv(stdout, stderr)
	defer closeKernel(e)
	return e.Save(args)
}

// RestoreMain is ipvsadm-restore on the kernel of this network namespace,
// reading os.Stdin.
func RestoreMain(args []string, stdout, stderr io.Writer) int {
	e := newEnv(stdout, stderr)
	defer closeKernel(e)
	return e.Restore(args)
}

// Save is Debian's ipvsadm-save script: every argument is looked at in turn,
// "-n" asks for numeric output, any other argument starting with "-" prints
// the help to stderr and exits 1 (arguments without a "-" are ignored); then
// it runs `ipvsadm -S [-n]` and exits with its code. args[0] is the name the
// help is printed under (its base name, as the script's `basename $0`).
func (e *Env) Save(args []string) int {
	numeric := false
	prog := SaveName
	if len(args) > 0 {
		prog = filepath.Base(args[0])
		args = args[1:]
	}
	for _, a := range args {
		switch {
		case a == "-n":
			numeric = true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(e.Stderr, "%s: Script to save the IPVS table to stdout.\n"+
				"   With the -n option, prints out the table in numeric format.\n", prog)
			return ExitFailure
		}
	}
	argv := []string{"ipvsadm", "-S"}
	if numeric {
		argv = append(argv, "-n")
	}
	return e.Run(argv)
}

// Restore is Debian's ipvsadm-restore script (arguments are ignored): it
// reads all of stdin first, keeping the lines that do not start with "#",
// then runs `ipvsadm -C` (whose result is ignored, as the script does) and
// `ipvsadm -R` on the kept lines, and exits with the code of the latter.
// Because stdin is read to its end before the table is flushed,
// `ipvsadm-save | ipvsadm-restore` saves the whole table before clearing it.
//
// The two commands are two ipvsadm processes in the script, each opening
// IPVS first: a missing ip_vs is reported by both, and -R fails even on
// empty input.
func (e *Env) Restore(args []string) int {
	in := e.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	var kept bytes.Buffer
	br := bufio.NewReader(in)
	for {
		line, err := br.ReadString('\n')
		if line != "" && !strings.HasPrefix(line, "#") {
			kept.WriteString(line)
		}
		if err != nil {
			// Like the script's `$(grep ...)`, a read error ends the input.
			break
		}
	}
	e.Run([]string{"ipvsadm", "-C"})
	closeKernelIfOpened(e)
	if _, code := e.kernel(); code != 0 {
		return code
	}
	saved := e.Stdin
	e.Stdin = &kept
	defer func() { e.Stdin = saved }()
	return e.Run([]string{"ipvsadm", "-R"})
}

// closeKernelIfOpened forgets the kernel handle of the previous command when
// Env opened it itself (Open set), as a new ipvsadm process would; a kernel
// given by the caller (tests' in-memory kernel) is kept.
func closeKernelIfOpened(e *Env) {
	if e.Open != nil {
		closeKernel(e)
	}
}
