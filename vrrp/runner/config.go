package runner

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// InstanceConfig is one vrrp_instance for the Runner: the protocol options of
// its Machine plus the I/O settings the Runner needs.
type InstanceConfig struct {
	// Machine holds the protocol options. Machine.Name is required and must be
	// unique among the runner's instances (sync groups refer to it, notify
	// scripts get it). Some fields are owned by the runner:
	//   - PrimaryAddr: the socket's source address is used (SrcAddr, or the
	//     interface's default address). If set without SrcAddr it is used as
	//     SrcAddr; if both are set they must be equal.
	//   - VIPs: derived from VIPs below; if VIPs is empty, Machine.VIPs are
	//     used as host addresses on Interface.
	//   - GARPLowerPrio is set from GARP.LowerPrioRepeat > 0.
	//   - UnicastPeers is also the socket's peer list (unicast mode).
	Machine vrrp.Options
	// Interface is the interface the instance runs on (keepalived
	// "interface"). Required.
	Interface string
	// SrcAddr is mcast_src_ip / unicast_src_ip; zero means the interface's
	// primary IPv4 address or IPv6 link-local address.
	SrcAddr netip.Addr
	// McastGroup is vrrp_mcast_group4/6; zero means 224.0.0.18 / ff02::12.
	McastGroup netip.Addr
	// UnicastTTL is the TTL / hop limit of unicast adverts (keepalived
	// unicast_ttl), 1..255; 0 means 255.
	UnicastTTL int
	// VIPs are the advertised virtual addresses (virtual_ipaddress) with
	// their netlink options; an empty Dev means Interface. They must be of the
	// instance's family.
	VIPs []vip.Address
	// ExcludedVIPs (virtual_ipaddress_excluded) are added, announced and
	// removed with the VIPs but not advertised; any family.
	ExcludedVIPs []vip.Address
	// Routes and Rules (virtual_routes, virtual_rules) are added after the
	// VIPs on becoming master and removed before them on leaving it.
	Routes []iproute.Route
	Rules  []iproute.Rule
	// GARP is the gratuitous ARP / unsolicited NA timing; nil means
	// garp.DefaultOptions().
	GARP *garp.Options
	// TrackScripts are the vrrp_scripts the instance tracks. A script (by
	// Script.Name) shared by several instances runs once.
	TrackScripts []TrackScript
	// TrackFiles are track_file entries. A file (by File.Name) shared by
	// several instances is read once.
	TrackFiles []TrackFile
	// TrackProcesses are track_process entries. A process tracker (by
	// Process.Name) shared by several instances is evaluated once.
	TrackProcesses []TrackProcess
	// TrackInterfaces are track_interface entries.
	TrackInterfaces []track.InterfaceConfig
	// DontTrackPrimary: the instance does not go to FAULT when Interface is
	// down (keepalived dont_track_primary).
	DontTrackPrimary bool
	// Notify are the instance's notify scripts.
	Notify NotifyScripts
	// TrackSrcIP (keepalived track_src_ip): with a configured SrcAddr, the
	// instance is in FAULT while that address is not assigned to any
	// interface (needs Options.Addrs). Ignored without SrcAddr, as keepalived.
	TrackSrcIP bool
	// PromoteSecondaries (keepalived promote_secondaries): while the runner
	// runs, net.ipv4.conf.Interface.promote_secondaries is 1, so removing
	// a primary VIP does not flush the secondary addresses of its subnet;
	// if the runner set it, it resets it to 0 when Run returns. Needs
	// Options.IfaceSettings.
	PromoteSecondaries bool
	// NotifyDeleted (keepalived notify_deleted): when a reload removes the
	// instance, its notify scripts get DELETED (Notify.Deleted and Any);
	// without it they get FAULT (Notify.Fault and Any), unless the instance
	// was in FAULT already, as keepalived.
	NotifyDeleted bool
	// NotifyPriorityChanges (keepalived notify_priority_changes): each
	// change of the effective priority goes to Options.OnNotify as
	// StateMasterPriority (in MASTER) or StateBackupPriority (in any other
	// state) with the new priority.
	NotifyPriorityChanges bool
}

// TrackScript is one track_script entry of an instance.
type TrackScript struct {
	// Script is the vrrp_script definition (Name, Interval, Timeout, Rise,
	// Fall, InitFail; its Weight and Reverse are the script's defaults and
	// are not used here). Every instance tracking the same Name must give the
	// same Script and Command.
	Script track.ScriptConfig
	// Command is what to run (vrrp_script "script").
	Command Command
	// Weight and Reverse are this instance's effect (track_script "NAME
	// weight W [reverse]"); the caller copies the vrrp_script's defaults
	// when track_script gives none. Weight 0 means FAULT while failing.
	Weight  int
	Reverse bool
}

// TrackFile is one track_file entry of an instance.
type TrackFile struct {
	// File is the track_file (vrrp_track_file) definition; every instance
	// tracking the same Name must give the same File.
	File track.FileConfig
	// Weight (-254..254) and Reverse are this instance's effect (track_file
	// "NAME weight W [reverse]"); the caller copies the block's defaults
	// (weight 1) when track_file gives none. The file's value times Weight
	// is added to the priority; with Weight 0 a nonzero value means FAULT.
	Weight  int
	Reverse bool
}

// Command is an external script: argv (see script.SplitCommand) and the
// user/group to run it as. An empty User means Options.ScriptUser.
type Command struct {
	Argv        []string
	User, Group string
}

func (c *Command) equal(o *Command) bool {
	return c.User == o.User && c.Group == o.Group && slices.Equal(c.Argv, o.Argv)
}

// NotifyScripts are keepalived's notify scripts. The state-specific ones
// (Master, Backup, Fault, Stop, Deleted) run with their argv as configured; Any
// ("notify") gets keepalived's four extra arguments (INSTANCE|GROUP, name,
// state, priority). MasterRxLowerPri (notify_master_rx_lower_pri) runs when
// a master receives an advert of lower priority. nil means none.
type NotifyScripts struct {
	Master, Backup, Fault, Stop *Command
	Deleted                     *Command // notify_deleted's script (instances)
	Any                         *Command
	MasterRxLowerPri            *Command
}

func (n NotifyScripts) validate(where string) error {
	for _, c := range []struct {
		name string
		cmd  *Command
	}{
		{"notify_master", n.Master}, {"notify_backup", n.Backup}, {"notify_fault", n.Fault},
		{"notify_stop", n.Stop}, {"notify_deleted", n.Deleted}, {"notify", n.Any}, {"notify_master_rx_lower_pri", n.MasterRxLowerPri},
	} {
		if c.cmd != nil && len(c.cmd.Argv) == 0 {
			return fmt.Errorf("%s: %s: empty command", where, c.name)
		}
	}
	return nil
}

// SyncGroupConfig is a vrrp_sync_group. Group-level track_script and
// track_interface are the caller's job: add them to every member's
// TrackScripts / TrackInterfaces (with weight 0 unless
// sync_group_tracking_weight), as keepalived does.
type SyncGroupConfig struct {
	Name    string
	Members []string // instance names
	// Notify scripts run when the group's state changes to MASTER, BACKUP or
	// FAULT (Stop and MasterRxLowerPri are not used for groups).
	Notify NotifyScripts
}

// placeholder source addresses used to validate options before the sockets
// are opened (documentation ranges, never sent).
var (
	placeholder4 = netip.AddrFrom4([4]byte{192, 0, 2, 1})
	placeholder6 = netip.MustParseAddr("fe80::1")
)

// normalize checks c and fills defaults; the returned config's Machine has a
// PrimaryAddr (the source address or a placeholder) and its VIPs.
func (c InstanceConfig) normalize() (InstanceConfig, error) {
	where := "vrrp: instance " + c.Machine.Name
	if c.Machine.Name == "" {
		return c, errors.New("vrrp: instance without a name")
	}
	if c.Interface == "" {
		return c, fmt.Errorf("%s: no interface", where)
	}
	o := &c.Machine
	if len(c.VIPs) > 0 && len(o.VIPs) > 0 {
		return c, fmt.Errorf("%s: give VIPs or Machine.VIPs, not both", where)
	}
	if c.SrcAddr.IsValid() && o.PrimaryAddr.IsValid() && c.SrcAddr.Unmap() != o.PrimaryAddr.Unmap() {
		return c, fmt.Errorf("%s: SrcAddr %v and Machine.PrimaryAddr %v differ", where, c.SrcAddr, o.PrimaryAddr)
	}
	if !c.SrcAddr.IsValid() {
		c.SrcAddr = o.PrimaryAddr
	}
	c.SrcAddr = c.SrcAddr.Unmap()
	c.TrackSrcIP = c.TrackSrcIP && c.SrcAddr.IsValid()

	c.VIPs = slices.Clone(c.VIPs)
	if len(c.VIPs) == 0 {
		for _, a := range o.VIPs {
			a = a.Unmap()
			c.VIPs = append(c.VIPs, vip.Address{Prefix: netip.PrefixFrom(a, a.BitLen())})
		}
	}
	c.ExcludedVIPs = slices.Clone(c.ExcludedVIPs)
	for _, list := range [][]vip.Address{c.VIPs, c.ExcludedVIPs} {
		for i := range list {
			if list[i].Dev == "" {
				list[i].Dev = c.Interface
			}
			if err := list[i].Validate(); err != nil {
				return c, fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	c.Routes, c.Rules = slices.Clone(c.Routes), slices.Clone(c.Rules)
	for _, r := range c.Routes {
		if err := r.Validate(); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
	}
	for _, r := range c.Rules {
		if err := r.Validate(); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
	}
	o.VIPs = nil
	for _, a := range c.VIPs {
		o.VIPs = append(o.VIPs, a.Prefix.Addr().Unmap())
	}

	// Family: explicit, else from the source address, else the first VIP,
	// else IPv4 (keepalived's default).
	if o.Family == 0 {
		switch {
		case c.SrcAddr.IsValid():
			o.Family = vrrp.FamilyOf(c.SrcAddr)
		case len(o.VIPs) > 0:
			o.Family = vrrp.FamilyOf(o.VIPs[0])
		default:
			o.Family = vrrp.FamilyIPv4
		}
	}
	o.PrimaryAddr = c.SrcAddr
	if !o.PrimaryAddr.IsValid() {
		o.PrimaryAddr = placeholder4
		if o.Family == vrrp.FamilyIPv6 {
			o.PrimaryAddr = placeholder6
		}
	}

	if c.GARP == nil {
		d := garp.DefaultOptions()
		c.GARP = &d
	} else {
		g := *c.GARP
		c.GARP = &g
	}
	if err := c.GARP.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", where, err)
	}
	o.GARPLowerPrio = c.GARP.LowerPrioRepeat > 0

	if _, err := vrrp.NewMachine(*o); err != nil {
		return c, err
	}
	if err := c.sockConfig().Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", where, err)
	}
	for _, ts := range c.TrackScripts {
		if ts.Script.Name == "" {
			return c, fmt.Errorf("%s: track_script without a name", where)
		}
		if len(ts.Command.Argv) == 0 {
			return c, fmt.Errorf("%s: vrrp_script %s: empty command", where, ts.Script.Name)
		}
		if ts.Weight < track.MinWeight || ts.Weight > track.MaxWeight {
			return c, fmt.Errorf("%s: track_script %s: weight %d out of range %d..%d", where, ts.Script.Name, ts.Weight, track.MinWeight, track.MaxWeight)
		}
	}
	for _, tf := range c.TrackFiles {
		if err := tf.File.Validate(); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
		if tf.Weight < track.MinFileWeight || tf.Weight > track.MaxFileWeight {
			return c, fmt.Errorf("%s: track_file %s: weight %d out of range %d..%d", where, tf.File.Name, tf.Weight, track.MinFileWeight, track.MaxFileWeight)
		}
	}
	for _, tp := range c.TrackProcesses {
		if err := tp.Process.Validate(); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
		if tp.Weight < track.MinFileWeight || tp.Weight > track.MaxFileWeight {
			return c, fmt.Errorf("%s: track_process %s: weight %d out of range %d..%d", where, tp.Process.Name, tp.Weight, track.MinFileWeight, track.MaxFileWeight)
		}
	}
	for _, ti := range c.TrackInterfaces {
		if _, err := track.NewInterfaceTracker(ti); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
	}
	if err := c.Notify.validate(where); err != nil {
		return c, err
	}
	return c, nil
}

// basePriority is the configured priority, or keepalived's default 100.
func (c *InstanceConfig) basePriority() uint8 {
	if c.Machine.Priority == 0 {
		return 100
	}
	return c.Machine.Priority
}

// sockConfig is the socket configuration of the instance.
func (c *InstanceConfig) sockConfig() vrrpsock.Config {
	peers := slices.Clone(c.Machine.UnicastPeers)
	slices.SortFunc(peers, netip.Addr.Compare)
	return vrrpsock.Config{
		Interface:  c.Interface,
		IPv6:       c.Machine.Family == vrrp.FamilyIPv6,
		Group:      c.McastGroup,
		Src:        c.SrcAddr,
		Peers:      peers,
		UnicastTTL: c.UnicastTTL,
	}
}

// sockKey identifies instances that can share one socket.
func sockKey(s vrrpsock.Config) string {
	return fmt.Sprintf("%s|%v|%v|%v|%v|%d", s.Interface, s.IPv6, s.Group, s.Src, s.Peers, s.UnicastTTL)
}

// allVIPs is VIPs followed by ExcludedVIPs.
func (c *InstanceConfig) allVIPs() []vip.Address {
	return append(slices.Clone(c.VIPs), c.ExcludedVIPs...)
}

func (c *InstanceConfig) garpVIPs() []garp.VIP { return c.appendGARPVIPs(nil) }

// appendGARPVIPs appends garpVIPs to out.
func (c *InstanceConfig) appendGARPVIPs(out []garp.VIP) []garp.VIP {
	for _, vs := range [][]vip.Address{c.VIPs, c.ExcludedVIPs} {
		for _, a := range vs {
			out = append(out, garp.VIP{Interface: a.Dev, Addr: a.Prefix.Addr()})
		}
	}
	return out
}

// DefaultNotifyTimeout bounds notify scripts other than STOP ones (which get
// script.StopNotifyTimeout, as in keepalived) when Options.NotifyTimeout
// is zero. keepalived itself does not time them out.
const DefaultNotifyTimeout = time.Minute

// Validate checks instances and groups as New and Update do, without
// opening anything: the daemon's configuration check calls it so that
// check-config refuses what run would.
func Validate(instances []InstanceConfig, groups []SyncGroupConfig) error {
	_, err := parse(instances, groups)
	return err
}
