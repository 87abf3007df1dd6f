package conf

import (
	"net/netip"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// Config is the typed, normalized configuration: every default filled in the
// way keepalived 2.2.7 fills it, every legacy keyword mapped to its current
// meaning, every reference (track_script, sync group member, virtual server
// group) checked. It is usable only when Load returned no error.
//
// JSON: durations are seconds (float), addresses are strings, positions are
// {file,line,col}. Keywords lvs-ha accepts but ignores are not represented.
type Config struct {
	Global              GlobalDefs            `json:"global_defs"`
	VRRPScripts         []*VRRPScript         `json:"vrrp_scripts"`
	TrackFiles          []*TrackFile          `json:"track_files,omitempty"`
	TrackProcesses      []*TrackProcess       `json:"track_processes,omitempty"`
	VRRPInstances       []*VRRPInstance       `json:"vrrp_instances"`
	SyncGroups          []*SyncGroup          `json:"vrrp_sync_groups"`
	VirtualServerGroups []*VirtualServerGroup `json:"virtual_server_groups"`
	VirtualServers      []*VirtualServer      `json:"virtual_servers"`
	SSL                 *SSL                  `json:"ssl,omitempty"`
	// StaticAddresses, StaticRoutes and StaticRules (static_ipaddress,
	// static_routes, static_rules) are added at start and removed at stop.
	StaticAddresses []*VIP   `json:"static_ipaddress,omitempty"`
	StaticRoutes    []*Route `json:"static_routes,omitempty"`
	StaticRules     []*Rule  `json:"static_rules,omitempty"`
	Counts          Counts   `json:"counts"`
	// BGPSpeaker is bgp_speaker (lvs-ha extension); nil without it.
	BGPSpeaker *BGPSpeaker `json:"bgp_speaker,omitempty"`
	// Unsupported are the uses of keywords lvs-ha accepts with a warning
	// and ignores (status Warned), in file order.
	Unsupported []UnsupportedKeyword `json:"-"`
}

// UnsupportedKeyword is one use of a Warned keyword.
type UnsupportedKeyword struct {
	Keyword string
	Pos     syntax.Pos
}

// Counts are the numbers of blocks of each kind found in the configuration
// (after includes, conditionals and substitution), including blocks that
// carried errors and checkers lvs-ha does not support.
type Counts struct {
	VRRPInstances  int `json:"vrrp_instances"`
	VirtualServers int `json:"virtual_servers"`
	RealServers    int `json:"real_servers"`
	Checkers       int `json:"checkers"`
}

// Script is an external command with the user/group to run it as (empty: the
// global script_user, else keepalived_script or root, as keepalived does).
type Script struct {
	Cmd   string     `json:"cmd"`  // as written
	Argv  []string   `json:"argv"` // Cmd split on unquoted whitespace
	User  string     `json:"user,omitempty"`
	Group string     `json:"group,omitempty"`
	Pos   syntax.Pos `json:"pos"`
}

// GlobalDefs is global_defs plus the root-level global keywords.
type GlobalDefs struct {
	RouterID              string   `json:"router_id,omitempty"`
	NotificationEmail     []string `json:"notification_email,omitempty"`
	NotificationEmailFrom string   `json:"notification_email_from,omitempty"`
	SMTPServer            string   `json:"smtp_server,omitempty"` // host (IP or name)
	SMTPPort              uint16   `json:"smtp_port,omitempty"`   // 25 when SMTPServer is set
	SMTPHeloName          string   `json:"smtp_helo_name,omitempty"`
	SMTPConnectTimeout    Duration `json:"smtp_connect_timeout"`
	// Tri-state smtp_alert defaults: nil means unset.
	SMTPAlert             *bool `json:"smtp_alert,omitempty"`
	SMTPAlertVRRP         *bool `json:"smtp_alert_vrrp,omitempty"`
	SMTPAlertChecker      *bool `json:"smtp_alert_checker,omitempty"`
	NoEmailFaults         bool  `json:"no_email_faults,omitempty"`
	NoCheckerEmails       bool  `json:"no_checker_emails,omitempty"`
	CheckerLogAllFailures bool  `json:"checker_log_all_failures,omitempty"`
	RSInitNotifies        bool  `json:"rs_init_notifies,omitempty"`

	DefaultInterface  string `json:"default_interface"`
	DynamicInterfaces bool   `json:"dynamic_interfaces,omitempty"`

	VRRPMcastGroup4             netip.Addr `json:"vrrp_mcast_group4"`
	VRRPMcastGroup6             netip.Addr `json:"vrrp_mcast_group6"`
	VRRPGarpMasterDelay         Duration   `json:"vrrp_garp_master_delay"`
	VRRPGarpMasterRepeat        int        `json:"vrrp_garp_master_repeat"`
	VRRPGarpLowerPrioDelay      Duration   `json:"vrrp_garp_lower_prio_delay"`
	VRRPGarpLowerPrioRepeat     int        `json:"vrrp_garp_lower_prio_repeat"`
	VRRPGarpMasterRefresh       Duration   `json:"vrrp_garp_master_refresh"`
	VRRPGarpMasterRefreshRepeat int        `json:"vrrp_garp_master_refresh_repeat"`
	VRRPGarpInterval            Duration   `json:"vrrp_garp_interval"`
	VRRPGnaInterval             Duration   `json:"vrrp_gna_interval"`
	VRRPMinGarp                 bool       `json:"vrrp_min_garp,omitempty"`
	VRRPDownTimerAdverts        int        `json:"vrrp_down_timer_adverts"`
	VRRPLowerPrioNoAdvert       bool       `json:"vrrp_lower_prio_no_advert"`
	VRRPHigherPrioSendAdvert    bool       `json:"vrrp_higher_prio_send_advert"`
	VRRPOwnerIgnoreAdverts      bool       `json:"vrrp_owner_ignore_adverts,omitempty"` // default of owner_ignore_adverts (keepalived 2.3.4)
	VRRPDelayAfterBoot          Duration   `json:"vrrp_delay_after_boot,omitempty"`     // VRRP starts no earlier than this after boot (keepalived 2.4)
	VRRPVersion                 int        `json:"vrrp_version"`
	VRRPCheckUnicastSrc         bool       `json:"vrrp_check_unicast_src,omitempty"`
	VRRPSkipCheckAdvAddr        bool       `json:"vrrp_skip_check_adv_addr,omitempty"`
	VRRPStrict                  bool       `json:"vrrp_strict,omitempty"`
	VRRPV3ChecksumAsV2          bool       `json:"vrrp_v3_checksum_as_v2,omitempty"`
	VRRPIPTables                *IPTables  `json:"vrrp_iptables,omitempty"`
	// Nftables is the inet table of the strict mode / no_accept rules
	// ("keepalived" unless global_defs nftables names one); lvs-ha always
	// uses nftables for them.
	Nftables                  string   `json:"nftables"`
	NftablesPriority          int      `json:"nftables_priority"`
	NftablesCounters          bool     `json:"nftables_counters,omitempty"`
	VRRPStartupDelay          Duration `json:"vrrp_startup_delay,omitempty"`
	VRRPNotifyPriorityChanges bool     `json:"vrrp_notify_priority_changes,omitempty"`
	LogUnknownVRIDs           bool     `json:"log_unknown_vrids,omitempty"`
	StateDumpFile             string   `json:"state_dump_file,omitempty"` // SIGUSR1's dump file (keepalived 2.3.4)
	VMACPrefix                string   `json:"vmac_prefix"`
	VMACAddrPrefix            string   `json:"vmac_addr_prefix,omitempty"` // use_vmac_addr VMAC names (default: VMACPrefix)

	ScriptUser           string `json:"script_user,omitempty"`
	ScriptGroup          string `json:"script_group,omitempty"`
	EnableScriptSecurity bool   `json:"enable_script_security,omitempty"`

	NotifyFifo     *Fifo `json:"notify_fifo,omitempty"`
	VRRPNotifyFifo *Fifo `json:"vrrp_notify_fifo,omitempty"`
	LVSNotifyFifo  *Fifo `json:"lvs_notify_fifo,omitempty"`
	// FIFOWriteVRRPStatesOnReload: at a reload, the instances (and sync
	// groups) that keep their state write it to the VRRP FIFOs again.
	FIFOWriteVRRPStatesOnReload bool `json:"fifo_write_vrrp_states_on_reload,omitempty"`

	LVSSyncDaemon  *LVSSyncDaemon `json:"lvs_sync_daemon,omitempty"`
	LVSFlush       bool           `json:"lvs_flush,omitempty"`
	LVSFlushOnStop string         `json:"lvs_flush_on_stop,omitempty"` // "", "RS" or "VS"
	LVSTimeouts    *LVSTimeouts   `json:"lvs_timeouts,omitempty"`
	// lvs-ha extensions: the net.ipv4.vs sysctls of the director's
	// namespace (sloppy_tcp, sloppy_sctp, sync_threshold,
	// sync_refresh_period, sync_retries, sync_persist_mode); nil leaves the
	// kernel's value alone.
	LVSSloppyTCP         *bool   `json:"lvs_sloppy_tcp,omitempty"`
	LVSSloppySCTP        *bool   `json:"lvs_sloppy_sctp,omitempty"`
	LVSSyncThreshold     *[2]int `json:"lvs_sync_threshold,omitempty"`      // threshold, period (packets)
	LVSSyncRefreshPeriod *int    `json:"lvs_sync_refresh_period,omitempty"` // seconds
	LVSSyncRetries       *int    `json:"lvs_sync_retries,omitempty"`
	LVSSyncPersistMode   *bool   `json:"lvs_sync_persist_mode,omitempty"`

	MaxAutoPriority int `json:"max_auto_priority,omitempty"`
	// VRRP process scheduling (lvs-ha applies them to its one process).
	VRRPPriority   int  `json:"vrrp_priority,omitempty"`    // nice, -20..19
	VRRPRTPriority int  `json:"vrrp_rt_priority,omitempty"` // SCHED_RR 1..99; 0: none
	VRRPNoSwap     bool `json:"vrrp_no_swap,omitempty"`
	// VRRPSchedSlice is vrrp_sched_slice in microseconds; nil: the
	// default (DefaultVRRPSchedSlice), 0: the kernel's.
	VRRPSchedSlice *int `json:"vrrp_sched_slice,omitempty"`
}

// DefaultVRRPSchedSlice is vrrp_sched_slice's default, in microseconds: the
// shortest slice the kernel takes.
const DefaultVRRPSchedSlice = 100

// IPTables is vrrp_iptables: the input and output chains.
type IPTables struct {
	InChain  string `json:"in_chain"`
	OutChain string `json:"out_chain,omitempty"`
}

// Fifo is a notify FIFO and the optional script reading it.
type Fifo struct {
	Name   string  `json:"name"`
	User   string  `json:"user,omitempty"`
	Group  string  `json:"group,omitempty"`
	Script *Script `json:"script,omitempty"`
	// Pos is the notify_fifo keyword's (zero when only the _script keyword
	// was given).
	Pos syntax.Pos `json:"pos,omitzero"`
}

// LVSSyncDaemon is lvs_sync_daemon (or a vrrp_instance's lvs_sync_daemon_interface).
type LVSSyncDaemon struct {
	Interface    string     `json:"interface"`
	VRRPInstance string     `json:"vrrp_instance,omitempty"`
	SyncID       *int       `json:"sync_id,omitempty"` // nil: the VRID of VRRPInstance, or 0
	MaxLen       int        `json:"maxlen,omitempty"`
	Port         uint16     `json:"port,omitempty"` // 0: kernel default 8848
	TTL          int        `json:"ttl,omitempty"`
	Group        netip.Addr `json:"group,omitzero"`
	Pos          syntax.Pos `json:"pos"`
}

// LVSTimeouts is lvs_timeouts; nil fields are left unchanged.
type LVSTimeouts struct {
	TCP    *Duration `json:"tcp,omitempty"`
	TCPFin *Duration `json:"tcpfin,omitempty"`
	UDP    *Duration `json:"udp,omitempty"`
}

// VRRPScript is a vrrp_script block.
type VRRPScript struct {
	Name     string     `json:"name"`
	Script   *Script    `json:"script"`
	Interval Duration   `json:"interval"`
	Timeout  Duration   `json:"timeout"` // defaults to Interval
	Weight   int        `json:"weight"`
	Reverse  bool       `json:"reverse,omitempty"`
	Rise     int        `json:"rise"`
	Fall     int        `json:"fall"`
	InitFail bool       `json:"init_fail,omitempty"`
	Pos      syntax.Pos `json:"pos"`
}

// TrackFile is a track_file (vrrp_track_file) block.
type TrackFile struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Weight  int    `json:"weight"` // default 1
	Reverse bool   `json:"reverse,omitempty"`
	// Init (init_file): create File holding InitValue at start if missing,
	// or always with Overwrite.
	Init      bool       `json:"init_file,omitempty"`
	InitValue int64      `json:"init_value,omitempty"`
	Overwrite bool       `json:"overwrite,omitempty"`
	Pos       syntax.Pos `json:"pos"`

	initPos syntax.Pos
}

// TrackProcess is a vrrp_track_process block.
type TrackProcess struct {
	Name    string   `json:"name"`
	Process string   `json:"process"`
	Params  []string `json:"params,omitempty"`
	// ParamMatch is "" (the name alone), "exact", "partial" or "initial".
	ParamMatch  string `json:"param_match,omitempty"`
	FullCommand bool   `json:"full_command,omitempty"`
	Weight      int    `json:"weight"`
	Reverse     bool   `json:"reverse,omitempty"`
	Quorum      int    `json:"quorum"`
	// QuorumMax is -1 when not set (no maximum).
	QuorumMax      int        `json:"quorum_max"`
	ForkDelay      Duration   `json:"fork_delay,omitempty"`
	TerminateDelay Duration   `json:"terminate_delay,omitempty"`
	Pos            syntax.Pos `json:"pos"`
}

// State is a VRRP initial state.
type State string

const (
	StateMaster State = "MASTER"
	StateBackup State = "BACKUP"
)

// VRRPInstance is a vrrp_instance block with every default resolved.
type VRRPInstance struct {
	Name      string     `json:"name"`
	Pos       syntax.Pos `json:"pos"`
	State     State      `json:"state"`
	Interface string     `json:"interface,omitempty"`
	VRID      int        `json:"virtual_router_id"`
	Priority  int        `json:"priority"`
	AdvertInt Duration   `json:"advert_int"`
	Version   int        `json:"version"`
	Family    Family     `json:"family"`

	NoPreempt    bool     `json:"nopreempt"`
	PreemptDelay Duration `json:"preempt_delay"`
	Accept       bool     `json:"accept"`
	StrictMode   bool     `json:"strict_mode"`
	Auth         *Auth    `json:"authentication,omitempty"`

	SrcIP              netip.Addr      `json:"src_ip,omitzero"` // mcast_src_ip / unicast_src_ip
	TrackSrcIP         bool            `json:"track_src_ip,omitempty"`
	McastDstIP         netip.Addr      `json:"mcast_dst_ip,omitzero"` // resolved group when multicast
	Unicast            bool            `json:"unicast"`
	UnicastPeers       []UnicastPeer   `json:"unicast_peers,omitempty"`
	UnicastTTL         int             `json:"unicast_ttl,omitempty"`
	UnicastFaultNoPeer bool            `json:"unicast_fault_no_peer,omitempty"`
	CheckUnicastSrc    bool            `json:"check_unicast_src,omitempty"`
	VIPs               []*VIP          `json:"virtual_ipaddress"`
	ExcludedVIPs       []*VIP          `json:"virtual_ipaddress_excluded,omitempty"`
	Routes             []*Route        `json:"virtual_routes,omitempty"`
	Rules              []*Rule         `json:"virtual_rules,omitempty"`
	TrackInterfaces    []TrackedIface  `json:"track_interface,omitempty"`
	TrackScripts       []TrackedScript `json:"track_script,omitempty"`
	TrackFiles         []TrackedFile   `json:"track_file,omitempty"`
	TrackProcesses     []TrackedFile   `json:"track_process,omitempty"`
	DontTrackPrimary   bool            `json:"dont_track_primary,omitempty"`

	Notify                Notify `json:"notify"`
	NotifyPriorityChanges bool   `json:"notify_priority_changes,omitempty"`
	SMTPAlert             bool   `json:"smtp_alert"`

	GarpMasterDelay         Duration `json:"garp_master_delay"`
	GarpMasterRepeat        int      `json:"garp_master_repeat"`
	GarpLowerPrioDelay      Duration `json:"garp_lower_prio_delay"`
	GarpLowerPrioRepeat     int      `json:"garp_lower_prio_repeat"`
	GarpMasterRefresh       Duration `json:"garp_master_refresh"`
	GarpMasterRefreshRepeat int      `json:"garp_master_refresh_repeat"`
	DownTimerAdverts        int      `json:"down_timer_adverts"`
	LowerPrioNoAdvert       bool     `json:"lower_prio_no_advert"`
	HigherPrioSendAdvert    bool     `json:"higher_prio_send_advert"`
	V3ChecksumAsV2          bool     `json:"v3_checksum_as_v2,omitempty"`    // VRRPv3 IPv4 checksum without pseudo-header (default: the global)
	OwnerIgnoreAdverts      bool     `json:"owner_ignore_adverts,omitempty"` // priority 255 drops received adverts (keepalived 2.3.4)
	NoVirtualIPAddress      bool     `json:"no_virtual_ipaddress,omitempty"` // no VIPs on purpose, also with VRRPv3 (keepalived 2.3)
	SkipCheckAdvAddr        bool     `json:"skip_check_adv_addr"`
	PromoteSecondaries      bool     `json:"promote_secondaries,omitempty"`

	UseVMAC      bool   `json:"use_vmac,omitempty"`
	VMACName     string `json:"vmac_name,omitempty"`
	VMACAddr     string `json:"vmac_addr,omitempty"`
	VMACXmitBase bool   `json:"vmac_xmit_base,omitempty"`
	UseVMACAddr  bool   `json:"use_vmac_addr,omitempty"` // VMACs for VIPs on other interfaces or of the other family

	SyncGroup string `json:"sync_group,omitempty"` // set when a vrrp_sync_group lists it

	// unresolved settings (nil: not configured)
	priority, advertInt, version                    *syntax.Word
	accept, lowerPrioNoAdvert, higherPrioSendAdvert *bool
	strict                                          *bool
	v3ChecksumAsV2                                  *bool
	ownerIgnoreAdverts                              *bool
	garpLowerPrioDelay                              *Duration
	garpLowerPrioRepeat                             *int
	smtpAlert, notifyPrio                           *bool
	unicastKeyword                                  bool
	unicastTTLSet                                   bool
	familyFrom                                      syntax.Word
	stateWord                                       syntax.Word
	nopreemptPos, preemptDelayPos                   syntax.Pos
	srcWord                                         syntax.Word
}

// Auth is the authentication block (VRRPv2 only).
type Auth struct {
	Type string `json:"auth_type"` // PASS or AH
	Pass string `json:"auth_pass"` // at most 8 bytes are used

	typePos syntax.Pos
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Addr   netip.Addr `json:"addr"`
	MinTTL int        `json:"min_ttl"`
	MaxTTL int        `json:"max_ttl"`
	Pos    syntax.Pos `json:"pos"`
}

// VIP is one virtual_ipaddress(_excluded) entry. Addr keeps its prefix
// length (default /32 or /128) and host bits.
type VIP struct {
	Addr          netip.Prefix `json:"addr"`
	Broadcast     netip.Addr   `json:"brd,omitzero"`
	Dev           string       `json:"dev,omitempty"` // empty: the instance's interface
	Scope         string       `json:"scope,omitempty"`
	Label         string       `json:"label,omitempty"`
	Peer          netip.Prefix `json:"peer,omitzero"`
	Home          bool         `json:"home,omitempty"`
	NoDAD         bool         `json:"nodad,omitempty"`
	MngTmpAddr    bool         `json:"mngtmpaddr,omitempty"`
	NoPrefixRoute bool         `json:"noprefixroute,omitempty"`
	AutoJoin      bool         `json:"autojoin,omitempty"`
	NoTrack       bool         `json:"no_track,omitempty"`
	UseVMAC       bool         `json:"use_vmac,omitempty"`
	PreferredLft  *uint32      `json:"preferred_lft,omitempty"` // 0xffffffff: forever
	Pos           syntax.Pos   `json:"pos"`
}

// TrackedIface is a track_interface entry. Weight 0 means FAULT when down.
type TrackedIface struct {
	Name    string     `json:"name"`
	Weight  int        `json:"weight"`
	Reverse bool       `json:"reverse,omitempty"`
	Pos     syntax.Pos `json:"pos"`
}

// TrackedScript is a track_script entry; Weight is resolved from the
// vrrp_script when not given (and forced to 0 for sync group members, as
// keepalived does unless sync_group_tracking_weight is set).
type TrackedScript struct {
	Name    string     `json:"name"`
	Weight  int        `json:"weight"`
	Reverse bool       `json:"reverse,omitempty"`
	Pos     syntax.Pos `json:"pos"`

	weightSet bool
}

// TrackedFile is a track_file (or track_process) entry of a vrrp_instance
// or sync group; Weight is resolved from the track_file (vrrp_track_process)
// block when not given (and forced
// to 0 for sync group members, as for track_script).
type TrackedFile struct {
	Name    string     `json:"name"`
	Weight  int        `json:"weight"`
	Reverse bool       `json:"reverse,omitempty"`
	Pos     syntax.Pos `json:"pos"`

	weightSet bool
}

// Notify holds the notify scripts of an instance or sync group.
type Notify struct {
	Master           *Script `json:"master,omitempty"`
	Backup           *Script `json:"backup,omitempty"`
	Fault            *Script `json:"fault,omitempty"`
	Stop             *Script `json:"stop,omitempty"`
	Deleted          *Script `json:"deleted,omitempty"`
	Any              *Script `json:"any,omitempty"` // "notify"
	MasterRxLowerPri *Script `json:"master_rx_lower_pri,omitempty"`
	// DeletedSet is true when notify_deleted was given (with or without a script).
	DeletedSet bool `json:"deleted_set,omitempty"`
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Name                    string          `json:"name"`
	Members                 []string        `json:"group"`
	TrackInterfaces         []TrackedIface  `json:"track_interface,omitempty"`
	TrackScripts            []TrackedScript `json:"track_script,omitempty"`
	TrackFiles              []TrackedFile   `json:"track_file,omitempty"`
	TrackProcesses          []TrackedFile   `json:"track_process,omitempty"`
	Notify                  Notify          `json:"notify"`
	NotifyPriorityChanges   *bool           `json:"notify_priority_changes,omitempty"`
	SMTPAlert               bool            `json:"smtp_alert"`
	SyncGroupTrackingWeight bool            `json:"sync_group_tracking_weight,omitempty"`
	Pos                     syntax.Pos      `json:"pos"`

	memberWords []syntax.Word
	smtpAlert   *bool
}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct {
	Name    string     `json:"name"`
	Entries []VSGEntry `json:"entries"`
	Pos     syntax.Pos `json:"pos"`
}

// VSGEntry is an address range with optional port, or a firewall mark.
type VSGEntry struct {
	// Address entries: First..Last inclusive (equal for a single address).
	First netip.Addr `json:"first,omitzero"`
	Last  netip.Addr `json:"last,omitzero"`
	Port  uint16     `json:"port,omitempty"`
	// Firewall mark entries.
	FWMark    uint32     `json:"fwmark,omitempty"`
	IsFWMark  bool       `json:"is_fwmark,omitempty"`
	FWMFamily Family     `json:"fwmark_family,omitempty"`
	Pos       syntax.Pos `json:"pos"`
}

// Protocol is an IPVS service protocol.
type Protocol string

const (
	TCP  Protocol = "TCP"
	UDP  Protocol = "UDP"
	SCTP Protocol = "SCTP"
)

// Forwarding is an LVS forwarding method (lvs_method / lb_kind).
type Forwarding struct {
	Method     string `json:"method"`                // NAT, DR or TUN
	TunnelType string `json:"tunnel_type,omitempty"` // ipip, gue or gre (TUN only)
	TunnelPort uint16 `json:"tunnel_port,omitempty"` // gue only
	TunnelCsum string `json:"tunnel_csum,omitempty"` // nocsum, csum or remcsum
}

// VirtualServer is a virtual_server block; exactly one of Addr, FWMark
// (IsFWMark) and Group identifies it.
type VirtualServer struct {
	Addr     netip.Addr `json:"addr,omitzero"`
	Port     uint16     `json:"port,omitempty"`
	FWMark   uint32     `json:"fwmark,omitempty"`
	IsFWMark bool       `json:"is_fwmark,omitempty"`
	Group    string     `json:"group,omitempty"`
	Family   Family     `json:"family"`
	Pos      syntax.Pos `json:"pos"`

	Protocol               Protocol      `json:"protocol,omitempty"` // empty for fwmark services
	Scheduler              string        `json:"lvs_sched"`
	SchedFlags             []string      `json:"sched_flags,omitempty"` // flag-1.., sh-port, mh-fallback...
	OnePacket              bool          `json:"ops,omitempty"`
	Forwarding             Forwarding    `json:"lvs_method"`
	PersistenceTimeout     Duration      `json:"persistence_timeout,omitempty"`
	PersistenceGranularity string        `json:"persistence_granularity,omitempty"`
	PersistenceEngine      string        `json:"persistence_engine,omitempty"`
	HASuspend              bool          `json:"ha_suspend,omitempty"`
	Alpha                  bool          `json:"alpha,omitempty"`
	Omega                  bool          `json:"omega,omitempty"`
	Quorum                 uint32        `json:"quorum"`
	Hysteresis             uint32        `json:"hysteresis"`
	QuorumUp               *Script       `json:"quorum_up,omitempty"`
	QuorumDown             *Script       `json:"quorum_down,omitempty"`
	SMTPAlert              bool          `json:"smtp_alert"`
	Virtualhost            string        `json:"virtualhost,omitempty"`
	DelayLoop              Duration      `json:"delay_loop"`
	ConnectTimeout         Duration      `json:"connect_timeout"`
	Weight                 int           `json:"weight"` // default real server weight
	InhibitOnFailure       bool          `json:"inhibit_on_failure,omitempty"`
	SorryServer            *SorryServer  `json:"sorry_server,omitempty"`
	RealServers            []*RealServer `json:"real_servers"`
	BGPAnnounce            *BGPAnnounce  `json:"bgp_announce,omitempty"` // lvs-ha extension

	ipFamily         Family
	fwdSet           bool
	retry            *int
	delayBeforeRetry *Duration
	warmup           *Duration
	smtpAlert        *bool
	groupWord        syntax.Word
	schedSet         bool
}

// SorryServer is the server used when the quorum is lost.
type SorryServer struct {
	Addr       netip.Addr `json:"addr"`
	Port       uint16     `json:"port,omitempty"`
	Forwarding Forwarding `json:"lvs_method"`
	Inhibit    bool       `json:"inhibit,omitempty"`
	Pos        syntax.Pos `json:"pos"`

	fwdSet bool
}

// RealServer is a real_server block with the virtual server's defaults applied.
type RealServer struct {
	Addr             netip.Addr `json:"addr"`
	Port             uint16     `json:"port,omitempty"`
	Weight           int        `json:"weight"`
	Forwarding       Forwarding `json:"lvs_method"`
	UThreshold       uint32     `json:"uthreshold,omitempty"`
	LThreshold       uint32     `json:"lthreshold,omitempty"`
	InhibitOnFailure bool       `json:"inhibit_on_failure,omitempty"`
	Alpha            bool       `json:"alpha,omitempty"`
	NotifyUp         *Script    `json:"notify_up,omitempty"`
	NotifyDown       *Script    `json:"notify_down,omitempty"`
	SMTPAlert        bool       `json:"smtp_alert"`
	Virtualhost      string     `json:"virtualhost,omitempty"`
	Checkers         []*Checker `json:"checkers"`
	Pos              syntax.Pos `json:"pos"`

	weight           *int
	fwdSet           bool
	inhibit, alpha   *bool
	smtpAlert        *bool
	retry            *int
	connectTimeout   *Duration
	delayLoop        *Duration
	warmup           *Duration
	delayBeforeRetry *Duration
}

// CheckerType names a health checker block.
type CheckerType string

const (
	TCPCheck  CheckerType = "TCP_CHECK"
	HTTPGet   CheckerType = "HTTP_GET"
	SSLGet    CheckerType = "SSL_GET"
	SMTPCheck CheckerType = "SMTP_CHECK"
	DNSCheck  CheckerType = "DNS_CHECK"
	MiscCheck CheckerType = "MISC_CHECK"
	UDPCheck  CheckerType = "UDP_CHECK"
	PingCheck CheckerType = "PING_CHECK"
)

// ConnOpts are the connection options of a checker (or of an SMTP_CHECK host).
// Zero values mean "the real server's address/port", "no bind".
type ConnOpts struct {
	ConnectIP      netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort    uint16     `json:"connect_port,omitempty"`
	BindTo         netip.Addr `json:"bindto,omitzero"`
	BindPort       uint16     `json:"bind_port,omitempty"`
	BindIf         string     `json:"bind_if,omitempty"`
	FWMark         uint32     `json:"fwmark,omitempty"`
	ConnectTimeout Duration   `json:"connect_timeout"`

	connectTimeout *Duration
}

// Checker is one health checker of a real server with inherited settings
// resolved (checker, else real server, else virtual server, else default).
type Checker struct {
	Type CheckerType `json:"type"`
	ConnOpts
	Retry            int            `json:"retry"`
	DelayBeforeRetry Duration       `json:"delay_before_retry"`
	Warmup           Duration       `json:"warmup"`
	DelayLoop        Duration       `json:"delay_loop"`
	Alpha            bool           `json:"alpha"`
	LogAllFailures   bool           `json:"log_all_failures,omitempty"`
	HTTP             *HTTPCheck     `json:"http,omitempty"`
	SMTP             *SMTPCheckOpts `json:"smtp,omitempty"`
	DNS              *DNSCheckOpts  `json:"dns,omitempty"`
	Misc             *MiscCheckOpts `json:"misc,omitempty"`
	UDP              *UDPCheckOpts  `json:"udp,omitempty"`
	Pos              syntax.Pos     `json:"pos"`

	retry            *int
	delayBeforeRetry *Duration
	warmup           *Duration
	delayLoop        *Duration
	alpha            *bool
}

// HTTPCheck holds HTTP_GET / SSL_GET settings.
type HTTPCheck struct {
	Protocol     string `json:"http_protocol"` // 1.0, 1.0C or 1.1
	Virtualhost  string `json:"virtualhost,omitempty"`
	EnableSNI    bool   `json:"enable_sni,omitempty"`
	SNIName      string `json:"sni_name,omitempty"` // sent instead of the virtual host (sni_name sets EnableSNI)
	FastRecovery bool   `json:"fast_recovery,omitempty"`
	URLs         []*URL `json:"urls"`
}

// URL is one url block of an HTTP_GET / SSL_GET checker.
type URL struct {
	Path           string        `json:"path"`
	Digest         string        `json:"digest,omitempty"` // lower-case hex MD5
	StatusCodes    []StatusRange `json:"status_code"`      // default 200-299
	Virtualhost    string        `json:"virtualhost,omitempty"`
	Regex          string        `json:"regex,omitempty"`
	RegexNoMatch   bool          `json:"regex_no_match,omitempty"`
	RegexOptions   []string      `json:"regex_options,omitempty"`
	RegexMinOffset int           `json:"regex_min_offset,omitempty"`
	RegexMaxOffset int           `json:"regex_max_offset,omitempty"`
	Pos            syntax.Pos    `json:"pos"`
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// SMTPCheckOpts holds SMTP_CHECK settings; each (deprecated) host block is
// an extra connection target checked by the same checker.
type SMTPCheckOpts struct {
	HeloName string     `json:"helo_name"`
	Hosts    []ConnOpts `json:"hosts,omitempty"`
}

// DNSCheckOpts holds DNS_CHECK settings.
type DNSCheckOpts struct {
	Type string `json:"type"` // A NS CNAME SOA MX TXT AAAA
	Name string `json:"name"`
}

// MiscCheckOpts holds MISC_CHECK settings.
type MiscCheckOpts struct {
	Path    *Script  `json:"misc_path"`
	Timeout Duration `json:"misc_timeout,omitempty"` // 0: delay_loop
	Dynamic bool     `json:"misc_dynamic,omitempty"`
}

// UDPCheckOpts holds UDP_CHECK settings (payloads as lower-case hex).
type UDPCheckOpts struct {
	Payload        string `json:"payload,omitempty"`
	RequireReply   bool   `json:"require_reply,omitempty"`
	ReplyPattern   string `json:"reply_pattern,omitempty"` // hex, x = any nibble
	MinReplyLength int    `json:"min_reply_length"`
	MaxReplyLength int    `json:"max_reply_length"`
}

// SSL is the top-level SSL block used by SSL_GET.
type SSL struct {
	Password    string `json:"password,omitempty"`
	CA          string `json:"ca,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	Key         string `json:"key,omitempty"`
}
