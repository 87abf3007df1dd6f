package conf

import (
	"fmt"
	"sort"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// DefaultPath is where lvs-ha looks for its configuration when -f is not given.
const DefaultPath = "/etc/lvs-ha/keepalived.conf"

// Options controls loading.
type Options struct {
	// ConfigID selects @ID / @^ID conditional lines; empty means the short hostname.
	ConfigID string
}

// Load parses, types and validates the file at path (following includes).
// Every problem found is returned as a diagnostic naming its file, line and
// column. The returned Config is never nil but is usable only when the
// diagnostics hold no error.
//
// Each top-level block is built as soon as the parser has it and then
// dropped: the syntax tree (~150 bytes a statement, 50 MB at 10,000 virtual
// servers x 10 real servers) is never whole in memory, where it was, with
// the Config being built, the peak of a load.
func Load(path string, opts Options) (*Config, syntax.Diagnostics) {
	l := newLoader()
	ds := syntax.ParseFileFunc(path, syntax.Options{ConfigID: opts.ConfigID}, l.root)
	return l.end(ds)
}

// LoadBytes is Load for an in-memory configuration named name. Includes are
// resolved relative to name on the real file system.
func LoadBytes(name string, src []byte, opts Options) (*Config, syntax.Diagnostics) {
	return loadBytes(name, src, syntax.Options{ConfigID: opts.ConfigID})
}

func loadBytes(name string, src []byte, opts syntax.Options) (*Config, syntax.Diagnostics) {
	l := newLoader()
	ds := syntax.ParseFunc(name, src, opts, l.root)
	return l.end(ds)
}

// loader carries the state of one build.
type loader struct {
	ds  syntax.Diagnostics
	cfg *Config

	scripts   map[string]*VRRPScript
	instances map[string]*VRRPInstance
	groups    map[string]*SyncGroup
	vsgs      map[string]*VirtualServerGroup
	sslSeen   bool
	syncdPos  syntax.Pos
	// nextRulePrio4/6: the preference of the next rule given none (0: 16384).
	nextRulePrio4, nextRulePrio6 uint32
	// order ranks the files of the statements built, by their first one.
	order map[string]int
}

func (l *loader) errf(pos syntax.Pos, format string, args ...any) {
	l.ds.Errorf(pos, format, args...)
}

func (l *loader) warnf(pos syntax.Pos, format string, args ...any) {
	l.ds.Warnf(pos, format, args...)
}

func newLoader() *loader {
	l := &loader{
		cfg:       &Config{},
		scripts:   map[string]*VRRPScript{},
		instances: map[string]*VRRPInstance{},
		groups:    map[string]*SyncGroup{},
		vsgs:      map[string]*VirtualServerGroup{},
		order:     map[string]int{},
	}
	l.cfg.Global = defaultGlobals()
	return l
}

// root builds the top-level statement n.
func (l *loader) root(n *syntax.Node) {
	fileOrder(l.order, n)
	dispatch(l, rootTable, n, l.cfg)
}

// end finishes the Config after the last statement; parsed are the
// parser's diagnostics, which come before the build's (then all are sorted).
func (l *loader) end(parsed syntax.Diagnostics) (*Config, syntax.Diagnostics) {
	l.ds = append(parsed, l.ds...)
	l.finish()
	sortDiagnostics(l.order, l.ds)
	// Never hand out nil slices: the JSON shape stays the same for every config.
	c := l.cfg
	if c.VRRPScripts == nil {
		c.VRRPScripts = []*VRRPScript{}
	}
	if c.VRRPInstances == nil {
		c.VRRPInstances = []*VRRPInstance{}
	}
	if c.SyncGroups == nil {
		c.SyncGroups = []*SyncGroup{}
	}
	if c.VirtualServerGroups == nil {
		c.VirtualServerGroups = []*VirtualServerGroup{}
	}
	if c.VirtualServers == nil {
		c.VirtualServers = []*VirtualServer{}
	}
	return c, l.ds
}

const rootBlock = "top level"

var rootTable *table[*Config]

func (l *loader) unknownTopLevel(n *syntax.Node) {
	if n.Block {
		l.errf(n.Keyword.Pos, "unknown block %q", n.Keyword.Text)
	} else {
		l.errf(n.Keyword.Pos, "unknown keyword %q at top level", n.Keyword.Text)
	}
}

// blockName returns the single name argument of a named block.
func (l *loader) blockName(n *syntax.Node) (syntax.Word, bool) {
	if len(n.Args) == 0 {
		l.errf(n.Keyword.Pos, "%s needs a name", n.Keyword.Text)
		return syntax.Word{}, false
	}
	if len(n.Args) > 1 {
		l.warnf(n.Args[1].Pos, "extra arguments to %s %q ignored", n.Keyword.Text, n.Args[0].Text)
	}
	return n.Args[0], true
}

func (l *loader) duplicate(kind string, w syntax.Word, first syntax.Pos) {
	l.errf(w.Pos, "duplicate %s %q (first defined at %s)", kind, w.Text, first)
}

func init() {
	rootTable = newTable(rootBlock, append(trackFileKeywords(), []keyword[*Config]{
		implBlock("global_defs", "global definitions", "", func(l *loader, n *syntax.Node, c *Config) {
			l.nargs(n, 0, 0)
			walk(l, globalTable, n, &c.Global)
		}),
		implBlock("vrrp_script", "a script tracked by VRRP instances: vrrp_script NAME { ... }", "", (*loader).vrrpScriptBlock),
		implBlock("vrrp_instance", "a VRRP instance: vrrp_instance NAME { ... }", "", (*loader).vrrpInstanceBlock),
		implBlock("vrrp_sync_group", "VRRP instances that change state together: vrrp_sync_group NAME { ... }", "", (*loader).syncGroupBlock),
		implBlock("virtual_server_group", "addresses/fwmarks sharing one real server pool: virtual_server_group NAME { ... }", "", (*loader).vsgBlock),
		implBlock("virtual_server", "an IPVS service: virtual_server IP [PORT] | fwmark N | group NAME { ... }", "", (*loader).virtualServerBlock),
		implBlock("SSL", "client certificate settings for SSL_GET", "", func(l *loader, n *syntax.Node, c *Config) {
			l.nargs(n, 0, 0)
			if c.SSL != nil {
				l.warnf(n.Keyword.Pos, "SSL context already specified - replacing")
			}
			c.SSL = &SSL{}
			walk(l, sslTable, n, c.SSL)
		}),
		implBlock("static_ipaddress", "addresses added at start and removed at stop, as virtual_ipaddress entries (dev defaults to default_interface)", "", func(l *loader, n *syntax.Node, c *Config) {
			l.nargs(n, 0, 0)
			l.valueLines(n, func(e *syntax.Node) {
				if ip := l.vip(e, true); ip != nil {
					c.StaticAddresses = append(c.StaticAddresses, ip)
				}
			})
		}),
		implBlock("static_routes", "routes added at start and removed at stop: [src IP] [to] [TYPE] PREFIX [via IP] [dev IF] [table T] [metric N] [scope S] [protocol P] [onlink] [nexthop via IP [dev IF] [weight N] ...] per line", "", func(l *loader, n *syntax.Node, c *Config) {
			c.StaticRoutes = append(c.StaticRoutes, l.routeBlock(n)...)
		}),
		implBlock("static_rules", "policy rules added at start and removed at stop: [from P] [to P] [not] [preference N] [fwmark M[/MASK]] [iif IF] [oif IF] ... table T|goto N|nop|blackhole|unreachable|prohibit per line", "", func(l *loader, n *syntax.Node, c *Config) {
			c.StaticRules = append(c.StaticRules, l.ruleBlock(n)...)
		}),
		// keepalived root keywords lvs-ha does not implement
		ignored[*Config]("net_namespace", "run in a network namespace"),
		ignored[*Config]("net_namespace_ipvs", "program IPVS in another network namespace"),
		ignored[*Config]("namespace_with_ipsets", "allow ipsets with a namespace"),
		ignored[*Config]("use_pid_dir", "pid files in /run/keepalived"),
		ignored[*Config]("instance", "instance name for pid files"),
		ignored[*Config]("child_wait_time", "time allowed for children to exit"),
		ignored[*Config]("linkbeat_use_polling", "poll interfaces for link state"),
		ignored[*Config]("linkbeat_interfaces", "interfaces polled for link state"),
		ignored[*Config]("interface_up_down_delays", "debounce delays for interface state"),
		ignored[*Config]("track_group", "track groups for static addresses/routes/rules"),
		ignored[*Config]("garp_group", "per-interface gratuitous ARP/NA pacing"),
		ignored[*Config]("bfd_instance", "BFD session"),
		implBlock("bgp_speaker", "lvs-ha extension: the BGP speaker announcing the VIPs of virtual servers with bgp_announce: bgp_speaker { ... }", "", (*loader).bgpSpeakerBlock),
		implBlock("vrrp_track_process", "processes whose number adjusts the priority of the VRRP instances tracking them: vrrp_track_process NAME { ... }", "", (*loader).trackProcessBlock),
	}...))
}

var sslTable *table[*SSL]

func init() {
	str := func(f func(*SSL) *string) func(*loader, *syntax.Node, *SSL) {
		return func(l *loader, n *syntax.Node, s *SSL) {
			if v, ok := l.stringArg(n); ok {
				*f(s) = v
			}
		}
	}
	sslTable = newTable("SSL", []keyword[*SSL]{
		impl("password", "password of the key file", "", str(func(s *SSL) *string { return &s.Password })),
		impl("ca", "CA certificate file", "", str(func(s *SSL) *string { return &s.CA })),
		impl("certificate", "client certificate file", "", str(func(s *SSL) *string { return &s.Certificate })),
		impl("key", "client key file", "", str(func(s *SSL) *string { return &s.Key })),
	})
}

// String summarizes the counts, e.g. for logs.
func (c Counts) String() string {
	return fmt.Sprintf("%d vrrp_instance, %d virtual_server, %d real_server, %d checker",
		c.VRRPInstances, c.VirtualServers, c.RealServers, c.Checkers)
}

// fileOrder ranks in order the files of n's statements not ranked yet, in
// tree order.
func fileOrder(order map[string]int, n *syntax.Node) {
	if _, ok := order[n.Keyword.Pos.File]; !ok {
		order[n.Keyword.Pos.File] = len(order)
	}
	for _, c := range n.Children {
		fileOrder(order, c)
	}
}

// sortDiagnostics puts diagnostics in source order: files in the order their
// statements appear (so included files sit where they were included), then
// line and column. Diagnostics for files with no statements keep their place
// at the end.
func sortDiagnostics(order map[string]int, ds syntax.Diagnostics) {
	rank := func(d syntax.Diagnostic) int {
		if r, ok := order[d.Pos.File]; ok {
			return r
		}
		return len(order)
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		ra, rb := rank(a), rank(b)
		if ra != rb || ra == len(order) {
			return ra < rb
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
}
