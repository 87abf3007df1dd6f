package netlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
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
	name string         // file name under nsRunDir
	fd   netns.NsHandle // open handle, keeps the namespace alive until closed
	id   nsID
	nl   *netlink.Handle // rtnetlink socket inside the namespace
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
func createNamed(name string) (*namespace, error) {
	if err := os.MkdirAll(nsRunDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", nsRunDir, err)
	}
	ns := &namespace{name: name, fd: netns.None()}
	created := false
	err := OnThread(func() error {
		f, err := os.OpenFile(ns.path(), os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return fmt.Errorf("create netns %s: %w", name, err)
		}
		f.Close()
		created = true
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("create netns %s: unshare: %w", name, err)
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, ns.path(), "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("create netns %s: bind mount: %w", name, err)
		}
		if ns.fd, err = netns.GetFromPath(self); err != nil {
			return fmt.Errorf("open netns %s: %w", name, err)
		}
		if ns.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return fmt.Errorf("netlink socket in %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		ns.close()
		if created {
			err = errors.Join(err, deleteNamed(name))
		}
		return nil, err
	}
	if ns.id, err = statNS(ns.path()); err != nil {
		ns.close()
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
	if ns.fd.IsOpen() {
		ns.fd.Close()
		ns.fd = netns.None()
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

// OnThread runs f on a fresh OS thread that is switched back to the current thread's
// original network namespace afterwards. f may change the thread's namespace. If the
// namespace cannot be restored, the thread is left locked so that the Go runtime
// discards it when the goroutine ends. A panic in f is re-raised in the caller.
func OnThread(f func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("get current netns: %w", err)}
			return
		}
		defer orig.Close()
		var r result
		func() {
			defer func() { r.panic = recover() }()
			r.err = f()
		}()
		if err := netns.Set(orig); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("restore netns: %w", err))
			done <- r // thread stays locked and dies with this goroutine
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// doIn runs f on an OS thread switched into ns.
func doIn(ns *namespace, f func() error) error {
	return OnThread(func() error {
		if err := netns.Set(ns.fd); err != nil {
			return fmt.Errorf("enter netns %s: %w", ns.name, err)
		}
		return f()
	})
}

// writeSysctl writes a /proc/sys value in the namespace of the calling thread.
// key uses dots, e.g. "net.ipv6.conf.all.accept_dad".
func writeSysctl(key, value string) error {
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
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
