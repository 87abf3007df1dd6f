package vmlab

import (
	"bufio"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// IpvsadmBin is Debian's ipvsadm in the VM image.
const IpvsadmBin = "/usr/sbin/ipvsadm"

// Table is an IPVS table as `ipvsadm -Ln` lists it, in its order.
type Table []Service

// Service is a virtual service of a [Table].
type Service struct {
	// Line is the service line with white space collapsed to single spaces, e.g.
	// "TCP 192.0.2.1:80 rr persistent 60" or "FWM 7 sh (sh-port)".
	Line  string
	Proto string // TCP, UDP, SCTP or FWM
	// Addr is "192.0.2.1:80" or "[2001:db8::1]:443" (host and service names with
	// -L), or the firewall mark of an FWM service.
	Addr  string
	IPv6  bool // an FWM service of the IPv6 family
	Sched string
	Dests []Dest
}

// Key is the protocol and address: "TCP 192.0.2.1:80", "FWM 7".
func (s Service) Key() string { return s.Proto + " " + s.Addr }

// String is the service line, [Service.Line].
func (s Service) String() string { return s.Line }

// Dest is a real server of a [Service].
type Dest struct {
	// Line is the real server line with white space collapsed, arrow included:
	// "-> 192.0.2.11:80 Route 1 0 0".
	Line       string
	Addr       string // "192.0.2.11:80", "[2001:db8::10]:8443"
	Forward    string // Masq, Route, Tunnel or Local
	Weight     int
	ActiveConn int
	InActConn  int
}

// Short is the address, forwarding method and weight, without the connection
// counters (which traffic changes): "192.0.2.11:80 Route 1".
func (d Dest) Short() string { return fmt.Sprintf("%s %s %d", d.Addr, d.Forward, d.Weight) }

// String is the real server line, [Dest.Line].
func (d Dest) String() string { return d.Line }

// The column titles of the listing Parse reads (white space collapsed).
const (
	versionPrefix = "IP Virtual Server version"
	serviceTitle  = "Prot LocalAddress:Port Scheduler Flags"
	destTitle     = "-> RemoteAddress:Port Forward Weight ActiveConn InActConn"
)

// Parse reads the output of `ipvsadm -L` or `ipvsadm -Ln`, optionally for one
// service (-t/-u/--sctp-service/-f) and with or without the version line. Other
// listings (--stats, --rate, --thresholds, --persistent-conn, --tun-info, -c) have
// other columns and are rejected, as is anything else it does not recognise; errors
// name the line.
func Parse(out string) (Table, error) {
	var (
		tb     Table
		titles int // column title lines seen
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		flat := strings.Join(f, " ")
		switch {
		case len(f) == 0:
		case n == 1 && strings.HasPrefix(flat, versionPrefix):
		case f[0] == "Prot" || strings.HasPrefix(flat, "-> RemoteAddress"):
			// The service titles, then the real server titles, before any service.
			if [2]string{serviceTitle, destTitle}[min(titles, 1)] != flat || titles > 1 {
				return nil, fmt.Errorf("line %d: %q: not the column titles of ipvsadm -L (only -L/-Ln without --stats, --rate, --thresholds, --persistent-conn or --tun-info is read)", n, line)
			}
			titles++
		case f[0] == "->":
			if titles < 2 || len(tb) == 0 {
				return nil, fmt.Errorf("line %d: real server %q outside a service", n, line)
			}
			d, err := parseDest(f)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %w", n, line, err)
			}
			d.Line = flat
			s := &tb[len(tb)-1]
			s.Dests = append(s.Dests, d)
		case f[0] == "TCP" || f[0] == "UDP" || f[0] == "SCTP" || f[0] == "FWM":
			if titles < 2 {
				return nil, fmt.Errorf("line %d: service %q before the column titles", n, line)
			}
			if len(f) < 3 {
				return nil, fmt.Errorf("line %d: short service line %q", n, line)
			}
			s := Service{Line: flat, Proto: f[0], Addr: f[1]}
			rest := f[2:]
			if s.Proto == "FWM" && rest[0] == "IPv6" {
				s.IPv6, rest = true, rest[1:]
			}
			if len(rest) == 0 {
				return nil, fmt.Errorf("line %d: service %q without a scheduler", n, line)
			}
			s.Sched = rest[0]
			tb = append(tb, s)
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if titles < 2 {
		return nil, fmt.Errorf("no ipvsadm -L column titles in %q", out)
	}
	return tb, nil
}

// parseDest reads the fields of a real server line: "->", address, forwarding
// method, weight, active and inactive connections.
func parseDest(f []string) (Dest, error) {
	if len(f) != 6 {
		return Dest{}, fmt.Errorf("%d fields, want 6 (-> address forward weight activeconn inactconn)", len(f))
	}
	d := Dest{Addr: f[1], Forward: f[2]}
	for i, p := range []*int{&d.Weight, &d.ActiveConn, &d.InActConn} {
		v, err := strconv.Atoi(f[3+i])
		if err != nil {
			return Dest{}, fmt.Errorf("%s: %w", []string{"weight", "active connections", "inactive connections"}[i], err)
		}
		*p = v
	}
	return d, nil
}

// Map renders tb as key(service) → dest(real server) of each of its real servers,
// sorted (ipvsadm lists them in the kernel's order). A service without real
// servers maps to an empty, non-nil slice.
func (tb Table) Map(key func(Service) string, dest func(Dest) string) map[string][]string {
	m := make(map[string][]string, len(tb))
	for _, s := range tb {
		ds := make([]string, 0, len(s.Dests))
		for _, d := range s.Dests {
			ds = append(ds, dest(d))
		}
		slices.Sort(ds)
		m[key(s)] = ds
	}
	return m
}

// command is name args run in n, or in this process's namespace when n is nil.
func command(n *netlab.Node, name string, args ...string) *exec.Cmd {
	if n == nil {
		return exec.Command(name, args...)
	}
	return n.Command(name, args...)
}

// where names n for messages.
func where(n *netlab.Node) string {
	if n == nil {
		return "the VM"
	}
	return n.Name()
}

// Ipvsadm runs ipvsadm with args in n (nil: this namespace) and returns its
// combined output; it fails the test when ipvsadm fails.
func Ipvsadm(t testing.TB, n *netlab.Node, args ...string) string {
	t.Helper()
	out, err := command(n, IpvsadmBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm %s in %s: %v\n%s", strings.Join(args, " "), where(n), err, out)
	}
	return string(out)
}

// List is the IPVS table of n (nil: this namespace), from `ipvsadm -Ln`.
func List(t testing.TB, n *netlab.Node) Table {
	t.Helper()
	out := Ipvsadm(t, n, "-Ln")
	tb, err := Parse(out)
	if err != nil {
		t.Fatalf("ipvsadm -Ln in %s: %v\n%s", where(n), err, out)
	}
	return tb
}

// ClearIPVS empties the IPVS table of n (nil: this namespace), `ipvsadm -C`.
func ClearIPVS(t testing.TB, n *netlab.Node) {
	t.Helper()
	Ipvsadm(t, n, "-C")
}
