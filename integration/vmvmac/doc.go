// Package vmvmac is the VMAC drill of issue #13 (keepalived's use_vmac), run
// in the VM test tier because it needs macvlan (make test-vm
// VM_PKGS=./integration/vmvmac): two directors running the VM image's
// lvs-ha with use_vmac and a client on one bridge; across a failover the
// client's neighbour entry for the VIP keeps the VRRP virtual MAC and the
// client keeps reaching the VIP, and a stopped director has removed its
// VMAC and restored its interface's settings.
package vmvmac
