// Package vmlab holds the helpers that the VM-tier lab tests (integration/vmtraffic,
// integration/vmhealth, integration/vmdaemon, integration/vmdemo) share on top of
// internal/netlab: reading kernel IPVS through Debian's ipvsadm, real servers that
// answer with their name, and running the lvs-ha binary of the VM image.
//
//   - [Parse] reads `ipvsadm -Ln` (or -L) output into a [Table] of services and their
//     real servers; [Table.Map] renders it as "service → sorted real servers" in the
//     shape a test asserts on, e.g. Map(Service.Key, Dest.Short) gives
//     "TCP 192.0.2.1:80" → ["192.0.2.11:80 Route 1", ...]. [List] runs and parses it
//     in a node, [Ipvsadm] runs any ipvsadm command, [ClearIPVS] empties the table.
//   - [Serve] starts a [Server], an HTTP server in a node answering "<node> <port>",
//     which can be stopped, restarted and made to hang; [Get] asks through a load
//     balancer which real server answered, [Fetch] is a checked GET.
//   - [RealServer] runs `lvs-ha realserver` in a node, [Run] starts `lvs-ha run` and
//     waits until it is ready.
//
// Functions taking a *netlab.Node run in that node's namespace; a nil node means the
// test process's own namespace (the VM's). The parser is pure and unit-tested on the
// host; everything else needs root, the VM image's binaries ([LvsHABin], [IpvsadmBin])
// and kernel IPVS, so only tests built with the `vm` tag use it.
package vmlab
