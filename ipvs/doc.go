// Package ipvs holds the desired IPVS state (virtual services and their real
// servers) and the reconciler that programs the kernel over
// github.com/moby/ipvs by diffing desired against actual state.
//
// Tests that need a kernel with IP_VS carry the `vm` build tag and run in the
// VM test tier (make test-vm).
package ipvs
