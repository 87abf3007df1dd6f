// Package vmtraffic sends real client traffic through kernel IPVS inside the VM test
// tier (make test-vm VM_PKGS=./integration/vmtraffic): a client, a director and two
// real servers in network namespaces (internal/netlab), IPVS programmed from Go in the
// director's namespace, HTTP servers answering with their name (internal/vmlab), for
// the NAT, DR and TUN forwarding methods and the rr, wrr, sh, persistence, fwmark and
// port-0 service behaviours. Debian's ipvsadm (in the VM image) lists the table the
// tests programmed, and its output (parsed by internal/vmlab) is compared with it.
//
// All tests carry the `vm` build tag and call vmtest.Require; addresses are from the
// documentation ranges only.
package vmtraffic
