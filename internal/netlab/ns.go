package netlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsRunDir is where named network namespaces are bind-mounted (as by iproute2).
const nsRunDir = "/run/netns"

// nsexecArg marks a re-execution of the test binary whose only job is to enter a
// network namespace and exec a program: argv is
// [self, nsexecArg, nsPath, targetPath, argv0, args...].
const nsexecArg = "__netlab_nsexec__"

func init() {
	if len(os.Args) >= 5 && os.Args[1] == nsexecArg {
		nsexecMain(os.Args[2], os.Args[3], os.Args[4:])
	}
}

// nsexecMain enters the namespace at nsPath and replaces the process with target.
// It never returns.
func nsexecMain(nsPath, target string, argv []string) {
	runtime.LockOSThread()
	err := enterNetns(nsPath)
	if err == nil {
		err = syscall.Exec(target, argv, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "netlab: run %s in %s: %v\n", target, nsPath, err)
	os.Exit(127)
}

func enterNetns(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open netns: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	return nil
}

// namespace is a named network namespace created by this package.
type namespace struct {
	*netns.NS        // open handle, keeps the namespace alive until closed
	name      string // file name under nsRunDir
	id        nsID
	nl        *netlink.Handle // rtnetlink socket inside the namespace
}

// nsID identifies a namespace by its nsfs inode.
type nsID struct{ dev, ino uint64 }

func (ns *namespace) path() string { return filepath.Join(nsRunDir, ns.name) }

// statNS returns the identity of the namespace file at path (a bind mount under
// /run/netns or a /proc/PID/ns/net link).
func statNS(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// createNamed creates a network namespace bind-mounted at /run/netns/name, opens a
// handle and a netlink socket in it, and leaves the caller's namespace untouched.
func createNamed(name string) (_ *namespace, err error) {
	if err := os.MkdirAll(nsRunDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", nsRunDir, err)
	}
	ns := &namespace{name: name}
	f, err := os.OpenFile(ns.path(), os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return nil, fmt.Errorf("create netns %s: %w", name, err)
	}
	f.Close()
	defer func() {
		if err != nil {
			ns.close()
			err = errors.Join(err, deleteNamed(name))
		}
	}()
	if ns.NS, err = netns.Create(); err != nil {
		return nil, fmt.Errorf("create netns %s: %w", name, err)
	}
	self := fmt.Sprintf("/proc/self/fd/%d", ns.Handle())
	if err := unix.Mount(self, ns.path(), "none", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("create netns %s: bind mount: %w", name, err)
	}
	if ns.nl, err = netlink.NewHandleAt(ns.Handle(), unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink socket in %s: %w", name, err)
	}
	if ns.id, err = statNS(ns.path()); err != nil {
		return nil, fmt.Errorf("stat netns %s: %w", name, err)
	}
	return ns, nil
}

// close releases the handles; the namespace lives on while it is mounted.
func (ns *namespace) close() {
	if ns.nl != nil {
		ns.nl.Close()
		ns.nl = nil
	}
	if ns.NS != nil {
		ns.NS.Close()
		ns.NS = nil
	}
}

// deleteNamed unmounts and removes /run/netns/name. A missing file is not an error.
func deleteNamed(name string) error {
	p := filepath.Join(nsRunDir, name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ipv6Available reports whether the calling thread's namespace has IPv6 sysctls.
func ipv6Available() bool {
	_, err := os.Stat("/proc/sys/net/ipv6/conf/all")
	return err == nil
}

// spawner is a goroutine locked to its own OS thread for its whole life. Processes
// are started from it so that their Pdeathsig (which is tied to the thread that
// forked them) fires only when the test binary itself dies, never because some other
// goroutine locked and discarded a runtime thread.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func onSpawner(f func()) {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this thread is only ours
			for f := range spawner.reqs {
				f()
			}
		}()
	})
	done := make(chan struct{})
	spawner.reqs <- func() { f(); close(done) }
	<-done
}

// pidsInNetns returns the PIDs (other than this process) whose network namespace is
// one of ids.
func pidsInNetns(ids map[nsID]bool) []int {
	if len(ids) == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		id, err := statNS(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err == nil && ids[id] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killNetnsProcs SIGKILLs every process living in one of ids and returns their PIDs.
func killNetnsProcs(ids map[nsID]bool) []int {
	pids := pidsInNetns(ids)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	return pids
}
