// Package ipvs holds the IPVS model (virtual services, real servers, stats,
// timeouts, connections), the Kernel interface with its generic-netlink
// implementation Netlink (64-bit stats, thresholds, tunnel attributes, sync
// daemons), and Reconcile, which programs the kernel by diffing the desired
// table against the actual one and applying only the needed changes.
// Reading the table (every reconcile, GET /metrics and GET /status) decodes
// the kernel's replies in place (attrDecoder) from a receive buffer the
// handle keeps (receiver): ~5 objects a real server instead of ~41.
// Package ipvstest has an in-memory Kernel for tests.
//
// Tests that need a kernel with IP_VS carry the `vm` build tag and run in the
// VM test tier (make test-vm).
package ipvs
