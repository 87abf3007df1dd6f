//go:build vm

package realserver_test

// This file puts the package into the VM test tier (make test-vm), whose kernel has
// ipip: there TestKernelInNamespace runs its TUN case instead of skipping it.
