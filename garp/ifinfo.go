package garp

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ifInfo is what a gratuitous ARP needs of its interface.
type ifInfo struct {
	index int
	mac   net.HardwareAddr
	flags uint32 // IFF_*
}

// ifreqHW is struct ifreq with ifr_hwaddr (a sockaddr).
type ifreqHW struct {
	name   [unix.IFNAMSIZ]byte
	family uint16
	data   [14]byte
	_      [8]byte
}

// lookupIf reads an interface's index, hardware address and flags with
// three ioctls on one socket, in the calling thread's network namespace: a
// few microseconds, where netlink.LinkByName (a socket, a request and the
// parsing of every link attribute) takes 150-400 us, on the path from a
// VRRP takeover to its first GARP.
func lookupIf(name string) (ifInfo, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ifInfo{}, err
	}
	defer unix.Close(fd)
	return lookupIfOn(fd, name)
}

// lookupIfOn is lookupIf with the ioctls on the socket fd, in its network
// namespace.
func lookupIfOn(fd int, name string) (ifInfo, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return ifInfo{}, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return ifInfo{}, err
	}
	info := ifInfo{index: int(ifr.Uint32())}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return ifInfo{}, err
	}
	info.flags = uint32(ifr.Uint16())
	var hw ifreqHW
	copy(hw.name[:], name)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFHWADDR, uintptr(unsafe.Pointer(&hw))); e != 0 {
		return ifInfo{}, e
	}
	info.mac = net.HardwareAddr(append([]byte(nil), hw.data[:6]...))
	return info, nil
}
