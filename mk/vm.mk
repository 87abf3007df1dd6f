# VM test tier: tests built with `-tags vm` run as root inside a qemu (TCG) VM
# booting Debian's cloud kernel (IP_VS, nf_tables, veth, bridges...).
# Scripts and the module list live in integration/vm/; outputs in build/vm/.
#
#   make vm-kernel      download (once) + unpack the bookworm cloud kernel
#   make vm-initramfs   busybox + modules + static vm test binaries + lvs-ha
#   make test-vm        both, then boot the VM and run the tests
#
# Every package with a `//go:build ... vm` _test.go file is picked up; knobs:
#   VM_PKGS="./ipvs ./vrrp"          only these packages
#   VM_TESTFLAGS="-test.run=TestX"   extra test binary flags (no spaces inside one)
#   VM_TIMEOUT=900                   seconds before the VM is killed
# Host packages needed (apt-get install): qemu-system-x86 busybox-static cpio
# kmod ipvsadm nftables (plus apt/dpkg/gzip/coreutils from the base system).

VM_DIR := integration/vm

.PHONY: vm-kernel vm-initramfs test-vm

vm-kernel:
	@bash $(VM_DIR)/build kernel

vm-initramfs: vm-kernel
	@bash $(VM_DIR)/build initramfs

test-vm: vm-initramfs
	@bash $(VM_DIR)/run
