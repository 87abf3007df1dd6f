package rawsys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read is read(2) on fd without the runtime's bookkeeping; fd must be
// non-blocking. The Errno is 0 on success.
func Read(fd uintptr, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(ptr), uintptr(len(p)))
	return int(n), e
}

// Write is write(2) on fd without the runtime's bookkeeping; fd must be
// non-blocking. The Errno is 0 on success.
func Write(fd uintptr, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(ptr), uintptr(len(p)))
	return int(n), e
}
