// Package vmtest holds helpers for tests of the VM test tier: tests built with
// the `vm` build tag that run as root inside the qemu VM booted by make
// test-vm (Debian's cloud kernel, with IP_VS, nf_tables, veth, bridges).
package vmtest
