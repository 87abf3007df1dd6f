// Package vmlab holds the helpers the VM-tier lab tests (integration/vmtraffic,
// vmhealth, vmdaemon, vmdemo, vmsync, vmecmp) share on top of internal/netlab: reading kernel IPVS
// through Debian's ipvsadm ([List], [Parse]), real servers that answer with their
// name ([Serve]), and running the VM image's lvs-ha ([Run], [RealServer]), and lab plumbing
// ([Attach] a node to a second segment, [AddAddr], [DefaultRoute], [Sysctl]), and the
// heartbeat flow harness of the connection-survival drills ([EchoServer], [StartFlow],
// [FlowState.Stall], [Percentiles], [WatchPauses]). Functions
// taking a *netlab.Node run in that node's namespace; nil means the test process's
// own (the VM's). Only tests built with the `vm` tag use it.
package vmlab
