package runner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestRxAt: a packet is stepped at the kernel's receive time, with the
// wake-up's monotonic reading, never after the wake-up and never before
// the machines' time so far.
func TestRxAt(t *testing.T) {
	wake := time.Now() // with a monotonic reading
	wall := wake.Round(0)
	floor := wake.Add(-10 * time.Millisecond)
	for _, tc := range []struct {
		name     string
		received time.Time
		want     time.Time
	}{
		{"no timestamp", time.Time{}, wake},
		{"received 300us before the wake-up", wall.Add(-300 * time.Microsecond), wake.Add(-300 * time.Microsecond)},
		{"received before the previous step", wall.Add(-time.Second), floor},
		{"received after the wake-up (clock step)", wall.Add(time.Second), wake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rxAt(tc.received, wake, floor)
			if !got.Equal(tc.want) {
				t.Fatalf("rxAt = %v, want %v", got, tc.want)
			}
			if got.Sub(wake) != tc.want.Sub(wake) || got.Round(0) == got {
				t.Fatalf("rxAt = %v lost the monotonic reading", got)
			}
		})
	}
	// A floor after the wake-up (not expected) still wins: never back in time.
	if got := rxAt(wall.Add(-time.Millisecond), wake, wake.Add(time.Millisecond)); !got.Equal(wake.Add(time.Millisecond)) {
		t.Fatalf("rxAt with a later floor = %v, want the floor", got)
	}
}

// TestArmIn: the timerfd is armed parkLead early for a takeover deadline
// further off than that and parkHorizon (the backup's wait parks until
// then), else approachLead early while further off than that, then
// spinLead early, any other deadline on time, and never disarmed by a
// zero.
func TestArmIn(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		next     time.Time
		spin     bool
		parkable bool
		want     time.Duration
	}{
		{now.Add(3 * time.Second), false, true, 3 * time.Second},
		{now.Add(3 * time.Second), true, true, 3*time.Second - parkLead},
		{now.Add(3 * time.Second), true, false, 3*time.Second - approachLead},
		{now.Add(parkLead + parkHorizon), true, true, parkLead + parkHorizon - approachLead},
		{now.Add(parkLead + parkHorizon + time.Nanosecond), true, true, parkHorizon + time.Nanosecond},
		{now.Add(approachLead + time.Nanosecond), true, true, time.Nanosecond},
		{now.Add(approachLead), true, true, approachLead - spinLead},
		{now.Add(20 * time.Millisecond), true, true, 20*time.Millisecond - spinLead},
		{now.Add(20 * time.Millisecond), false, true, 20 * time.Millisecond},
		{now.Add(spinLead / 2), true, true, 1},
		{now.Add(-time.Second), false, true, 1},
	} {
		if got := armIn(tc.next, now, leadFor(tc.next, now, tc.spin, true, tc.parkable)); got != tc.want {
			t.Errorf("armIn(now+%v, spin %v, parkable %v) = %v, want %v", tc.next.Sub(now), tc.spin, tc.parkable, got, tc.want)
		}
	}
	// A locked loop (no capped waits) is not woken for an approach.
	if got := leadFor(now.Add(3*time.Second), now, true, false, false); got != spinLead {
		t.Errorf("locked loop: lead %v, want spinLead", got)
	}
	// After the approach wake-up the deadline is within capHorizon: the
	// rest is waited capped (no system call state), then spun.
	next := now.Add(approachLead)
	if capWait(new(unix.Timespec), next, now) == nil {
		t.Error("at approachLead before a deadline the wait is not capped")
	}
}

// TestParksFor: a wait that can park (uncapped, a parker) does unless a
// deadline is within parkHorizon (adverts of 0.05-0.25 s: the wait stays a
// system call); a backup's wait for its master down deadline parks only
// while the timerfd is armed parkLead early (leadFor), and the 20 ms from
// there to the approach are a system call.
func TestParksFor(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		next     time.Time
		takeover bool
		lead     time.Duration
		can      bool
		want     bool
	}{
		{time.Time{}, false, 0, true, true},              // no deadline (an idle runner, a faulted instance)
		{now.Add(time.Second), false, 0, true, true},     // a master's next advert, advert_int 1
		{now.Add(time.Second), false, 0, false, false},   // a capped or locked loop, no parker
		{now.Add(parkHorizon), false, 0, true, false},    // adverts of 0.25 s
		{now.Add(parkHorizon + 1), false, 0, true, true}, // just beyond
		{now.Add(3 * time.Second), true, parkLead, true, true},
		{now.Add(parkLead), true, approachLead, true, false}, // the system call before the approach
		{now.Add(3 * time.Second), true, approachLead, true, false},
	} {
		if got := parksFor(tc.next, now, tc.takeover, tc.lead, tc.can); got != tc.want {
			t.Errorf("parksFor(now+%v, takeover %v, lead %v, can %v) = %v, want %v", tc.next.Sub(now), tc.takeover, tc.lead, tc.can, got, tc.want)
		}
	}
}

// TestSpinUntil: the spin returns the first clock reading at or after the
// deadline, never one before it (taking over before the master down
// interval is a protocol violation), and does not spin at all for a
// deadline further than spinLead away.
func TestSpinUntil(t *testing.T) {
	deadline := time.Unix(1000, 0)
	clock := func(start time.Time, step time.Duration, calls *int) func() time.Time {
		now := start
		return func() time.Time {
			*calls++
			now = now.Add(step)
			return now
		}
	}
	var calls int
	start := deadline.Add(-spinLead + time.Microsecond)
	got := spinUntil(deadline, start, clock(start, 7*time.Microsecond, &calls))
	if got.Before(deadline) || got.Sub(deadline) >= 7*time.Microsecond {
		t.Fatalf("spinUntil = deadline%+v, want the first reading at or after the deadline", got.Sub(deadline))
	}
	if calls == 0 {
		t.Fatal("spinUntil did not read the clock")
	}

	calls = 0
	if got := spinUntil(deadline, deadline, clock(deadline, time.Microsecond, &calls)); !got.Equal(deadline) || calls != 0 {
		t.Fatalf("on the deadline: spinUntil = %v after %d reads, want the deadline at once", got, calls)
	}
	calls = 0
	late := deadline.Add(time.Millisecond)
	if got := spinUntil(deadline, late, clock(late, time.Microsecond, &calls)); !got.Equal(late) || calls != 0 {
		t.Fatalf("late: spinUntil = %v after %d reads, want now at once", got, calls)
	}
	calls = 0
	early := deadline.Add(-2 * spinLead)
	if got := spinUntil(deadline, early, clock(early, time.Microsecond, &calls)); !got.Equal(early) || calls != 0 {
		t.Fatalf("far: spinUntil = %v after %d reads, want now at once (no spin)", got, calls)
	}
	if due(deadline, early) {
		t.Fatal("a deadline further than spinLead is due")
	}
}

// TestLocksThread: the poll loop keeps a locked thread only when realtime
// scheduling is configured, and an unlocked loop's wait stays under the
// runtime's 10 ms (sysmon's forcePreemptNS and system call exemption).
func TestLocksThread(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want bool
	}{
		{"default", Options{}, false},
		{"nice only", Options{Nice: -10}, false},
		{"vrrp_rt_priority", Options{RTPriority: 5}, true},
		{"max_auto_priority", Options{MaxAutoPriority: 10}, true},
	} {
		if got := locksThread(tc.o); got != tc.want {
			t.Errorf("%s: locksThread = %v, want %v", tc.name, got, tc.want)
		}
	}
	if maxWait <= 0 || maxWait >= 10*time.Millisecond {
		t.Errorf("maxWait = %v, want in (0, 10ms)", maxWait)
	}
}

// TestPpollWaitsEachTime: a capped ppoll waits maxWait every time, though
// the kernel writes the time left (zero after a timeout) back into its
// timeout (reused, it would make every later wait return at once: a busy
// loop).
func TestPpollWaitsEachTime(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}} // never readable
	wait := new(unix.Timespec)
	for i := range 3 {
		start := time.Now()
		err := ppoll(fds, wait)
		d := time.Since(start)
		if errors.Is(err, unix.EINTR) {
			continue // a runtime preemption signal may end a wait early
		}
		if err != nil {
			t.Fatal(err)
		}
		if d < maxWait {
			t.Fatalf("wait %d returned after %v, want at least maxWait %v", i, d, maxWait)
		}
	}
}

func TestCapWait(t *testing.T) {
	now := time.Unix(1000, 0)
	w := new(unix.Timespec)
	for _, c := range []struct {
		name string
		wait *unix.Timespec
		next time.Time
		want bool
	}{
		{"locked loop", nil, now.Add(10 * time.Millisecond), false},
		{"10 ms advert", w, now.Add(10 * time.Millisecond), true},
		{"master down at 10 ms adverts", w, now.Add(36 * time.Millisecond), true},
		{"at the horizon", w, now.Add(capHorizon), true},
		{"1 s advert", w, now.Add(time.Second), false},
		{"no deadline", w, time.Time{}, false},
		{"overdue", w, now.Add(-time.Millisecond), true},
	} {
		if got := capWait(c.wait, c.next, now) != nil; got != c.want {
			t.Errorf("%s: capped %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCappedPpollKeepsItsP: with more than one P, a capped wait does not
// enter the runtime's system call state (the runtime's metric of
// goroutines in system calls never counts the waiting goroutine), so
// sysmon has no P to retake from it; an uncapped wait is a system call.
func TestCappedPpollKeepsItsP(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2: with one P a capped wait stays a system call")
	}
	inSyscall := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// seen reports whether a goroutine waiting in ppoll (capped or not) is
	// ever counted in a system call while it waits.
	seen := func(wait *unix.Timespec) bool {
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(efd)
		base := inSyscall()
		waiting := make(chan struct{})
		done := make(chan error)
		go func() {
			fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
			close(waiting)
			for {
				err := ppoll(fds, wait)
				if err != nil && !errors.Is(err, unix.EINTR) {
					done <- err
					return
				}
				if fds[0].Revents != 0 {
					done <- nil
					return
				}
			}
		}()
		<-waiting
		counted := false
		for range 200 {
			if inSyscall() > base {
				counted = true
				break
			}
			time.Sleep(time.Millisecond) // sampling the wait, not a tolerance
		}
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		if _, err := unix.Write(efd, one[:]); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return counted
	}
	if !seen(nil) {
		t.Fatal("an uncapped ppoll was never counted in a system call: the metric cannot show the difference")
	}
	if seen(new(unix.Timespec)) {
		t.Error("a capped ppoll was counted in a system call: it gives up its P for sysmon to retake")
	}
}

// voluntarySwitches returns how many times each of the process's threads
// has given up its CPU so far (voluntary_ctxt_switches of
// /proc/self/task/*/status: a thread that sleeps, as one woken for nothing
// does again; preemption by the kernel is not counted), by thread ID.
func voluntarySwitches() (map[string]int64, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	n := map[string]int64{}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue // the thread exited
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("thread %s: %q: %w", task.Name(), line, err)
				}
				n[task.Name()] = c
			}
		}
	}
	return n, nil
}

// sysmonThread returns the ID of the thread sleeping in nanosleep(2),
// which in a Go process whose Ps are not all idle is sysmon (runtime
// usleep; the other threads park in futex(2) or wait in epoll), or "" if
// not exactly one thread is seen there in a few looks.
func sysmonThread() string {
	for range 100 {
		found, err := threadsIn(unix.SYS_NANOSLEEP)
		if err != nil {
			return ""
		}
		if len(found) == 1 {
			return found[0]
		}
	}
	return ""
}

// threadsIn returns the IDs of the process's threads that are in system
// call nr (/proc/self/task/*/syscall). It reads /proc with raw system
// calls only, which do not wake a sleeping sysmon (entersyscall would), so
// that looking for sysmon does not change what it does.
func threadsIn(nr int) ([]string, error) {
	open := func(path string, flags int) (uintptr, error) {
		p, err := unix.BytePtrFromString(path)
		if err != nil {
			return 0, err
		}
		fdcwd := int64(unix.AT_FDCWD)
		fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(fdcwd), uintptr(unsafe.Pointer(p)), uintptr(flags|unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		if e != 0 {
			return 0, e
		}
		return fd, nil
	}
	dir, err := open("/proc/self/task", unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.RawSyscall(unix.SYS_CLOSE, dir, 0, 0)
	var ents [8192]byte
	n, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, dir, uintptr(unsafe.Pointer(&ents[0])), uintptr(len(ents)))
	if e != 0 {
		return nil, e
	}
	_, _, tids := unix.ParseDirent(ents[:n], -1, nil)
	prefix := strconv.Itoa(nr) + " "
	var found []string
	var buf [128]byte
	for _, tid := range tids {
		fd, err := open("/proc/self/task/"+tid+"/syscall", 0)
		if err != nil {
			continue // the thread exited
		}
		m, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		if e == 0 && strings.HasPrefix(string(buf[:m]), prefix) {
			found = append(found, tid)
		}
	}
	return found, nil
}

// yieldRounds runs n rounds of yield and then work for d (on the clock,
// like the loop's wait that keeps its P: no system call) on one goroutine
// and returns the voluntary context switches of the process's threads
// meanwhile, sysmon's excepted: its polling depends on how the kernel
// schedules the process (a thread kept off its CPU for 10 ms is preempted
// as running, and each preemption resets sysmon to 20 us polling), not on
// the yield.
func yieldRounds(t *testing.T, n int, d time.Duration, yield func()) int64 {
	t.Helper()
	type result struct {
		sum int64
		err error
	}
	got := make(chan result)
	go func() {
		before, err := voluntarySwitches()
		if err != nil {
			got <- result{err: err}
			return
		}
		for range n {
			yield()
			for end := time.Now().Add(d); time.Now().Before(end); {
			}
		}
		after, err := voluntarySwitches()
		sysmon := sysmonThread() // this goroutine still holds its P: sysmon polls
		var sum int64
		for tid, c := range after {
			if tid != sysmon {
				sum += c - before[tid]
			}
		}
		got <- result{sum, err}
	}()
	r := <-got
	if r.err != nil {
		t.Skip("cannot count context switches:", r.err)
	}
	return r.sum
}

// TestYieldWakesNoThread: the loop's yield before each wait wakes no
// other thread. runtime.Gosched, the yield before, wakes an idle P's
// thread each time (wakep), which finds nothing and sleeps again.
func TestYieldWakesNoThread(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2: with one P there is no idle P to wake")
	}
	const n = 300
	// On a busy machine a woken thread may wait for a CPU past the next
	// yield, whose wakep then sees it still pending and wakes none: the
	// control shows fewer wake-ups. Try again before giving up.
	for attempt := 1; ; attempt++ {
		gosched := yieldRounds(t, n, time.Millisecond, runtime.Gosched)
		ours := yieldRounds(t, n, time.Millisecond, yield)
		t.Logf("voluntary context switches in %d rounds: runtime.Gosched %d, yield %d", n, gosched, ours)
		if ours > n/20 {
			t.Fatalf("yield: %d voluntary context switches in %d rounds, want at most %d (no thread woken per yield)", ours, n, n/20)
		}
		if gosched >= n/5 {
			return
		}
		if attempt == 3 {
			t.Skipf("runtime.Gosched made at most %d voluntary context switches in %d rounds in 3 attempts (a busy machine): the control cannot show a yield's wake-up", gosched, n)
		}
	}
}

// TestYieldMovesSchedtick: a loop that yields (yield) between
// waits that keep its P (rawPpoll, as a capped wait) is not preempted by
// sysmon as running for 10 ms (forcePreemptNS), so its P's schedtick
// moves; without a yield it is, and the preemption signal ends the wait
// (EINTR).
func TestYieldMovesSchedtick(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2: with one P a capped wait stays a system call")
	}
	interrupted := func(yield func()) int {
		got := make(chan int)
		go func() {
			eintr := 0
			for range 60 { // 300 ms of 5 ms waits
				yield()
				wait := unix.NsecToTimespec((5 * time.Millisecond).Nanoseconds())
				if err := rawPpoll(nil, &wait); errors.Is(err, unix.EINTR) {
					eintr++
				}
			}
			got <- eintr
		}()
		return <-got
	}
	if none := interrupted(func() {}); none < 5 {
		t.Fatalf("without a yield %d of 60 waits were interrupted: the test cannot show sysmon's preemption", none)
	}
	// A collection's stop-the-world would signal too: allow one.
	if n := interrupted(yield); n > 1 {
		t.Errorf("with yield %d of 60 waits were interrupted by a preemption signal, want none", n)
	}
}

// TestTimerArm: the loop sets its timerfd only when the deadline or its
// spin lead changed, or once it fired.
func TestTimerArm(t *testing.T) {
	now := time.Unix(1000, 0)
	var a timerArm
	if !a.stale(time.Time{}, 0) {
		t.Fatal("never armed: want stale")
	}
	a = timerArm{next: now, set: true}
	for _, tc := range []struct {
		name  string
		next  time.Time
		lead  time.Duration
		stale bool
	}{
		{"same deadline", now, 0, false},
		{"same instant, other location", now.UTC(), 0, false},
		{"later deadline", now.Add(10 * time.Millisecond), 0, true},
		{"same deadline, now a takeover", now, spinLead, true},
		{"same deadline, approached", now, approachLead, true},
		{"no deadline", time.Time{}, 0, true},
	} {
		if got := a.stale(tc.next, tc.lead); got != tc.stale {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.stale)
		}
	}
	a.set = false // fired
	if !a.stale(now, 0) {
		t.Error("fired: want stale")
	}
	if (timerArm{set: true}).stale(time.Time{}, 0) {
		t.Error("disarmed and no deadline: want not stale")
	}
}

// TestTimerfdSetResetsExpiry: setting a timerfd that fired makes it
// unreadable again without reading it (the kernel's timerfd_setup resets
// the expiry count), which pollLoop relies on to skip the read.
func TestTimerfdSetResetsExpiry(t *testing.T) {
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.Skipf("no timerfd: %v", err)
	}
	defer unix.Close(tfd)
	readable := func(ms int) bool {
		fds := []unix.PollFd{{Fd: int32(tfd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, ms)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
	}
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(1)}
	if err := unix.TimerfdSettime(tfd, 0, &its, nil); err != nil {
		t.Fatal(err)
	}
	if !readable(10_000) {
		t.Fatal("armed 1 ns ahead: not readable after 10 s")
	}
	its.Value = unix.NsecToTimespec(time.Hour.Nanoseconds())
	if err := unix.TimerfdSettime(tfd, 0, &its, nil); err != nil {
		t.Fatal(err)
	}
	if readable(0) {
		t.Fatal("set again after it fired: still readable")
	}
	if err := unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{}, nil); err != nil {
		t.Fatal(err)
	}
	if readable(0) {
		t.Fatal("disarmed: readable")
	}
}

// TestParkerWakes: the loop's park in the runtime's poller returns with
// the events of the descriptor that became readable, at its index (the
// eventfd, the timerfd, the sockets); between parks its epoll instance
// holds nothing, so that events during the loop's capped waits do not wake
// the runtime's poller thread; and a socket closed and replaced by another
// on the same descriptor number between two parks is waited for.
func TestParkerWakes(t *testing.T) {
	newEventfd := func() int {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	signal := func(fd int) {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		if _, err := unix.Write(fd, one[:]); err != nil {
			t.Fatal(err)
		}
	}
	drain := func(fd int) {
		var b [8]byte
		_, _ = unix.Read(fd, b[:])
	}
	wfd := newEventfd()
	defer unix.Close(wfd)
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.Skipf("no timerfd: %v", err)
	}
	defer unix.Close(tfd)
	p, err := newParker()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	sock := newEventfd() // a socket stand-in: readable when signalled
	fds := func(sock int) []unix.PollFd {
		return []unix.PollFd{
			{Fd: int32(wfd), Events: unix.POLLIN},
			{Fd: int32(tfd), Events: unix.POLLIN},
			{Fd: int32(sock), Events: unix.POLLIN},
		}
	}
	// wait parks with sock as the socket, while then() runs meanwhile, and
	// returns which fds were reported.
	wait := func(sock int, then func()) []bool {
		t.Helper()
		f := fds(sock)
		done := make(chan error, 1)
		go func() { done <- p.wait(f) }()
		then()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := make([]bool, len(f))
		for i := range f {
			got[i] = f[i].Revents&unix.POLLIN != 0
		}
		return got
	}
	want := func(what string, got []bool, i int) {
		t.Helper()
		for j, r := range got {
			if r != (j == i) {
				t.Fatalf("%s: readable %v, want only index %d", what, got, i)
			}
		}
	}
	want("eventfd", wait(sock, func() { signal(wfd) }), 0)
	drain(wfd)
	arm := func() {
		its := unix.ItimerSpec{Value: unix.NsecToTimespec(time.Millisecond.Nanoseconds())}
		if err := unix.TimerfdSettime(tfd, 0, &its, nil); err != nil {
			t.Fatal(err)
		}
	}
	want("timerfd", wait(sock, arm), 1)
	if err := unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{}, nil); err != nil { // disarmed: no longer readable
		t.Fatal(err)
	}
	want("socket", wait(sock, func() { signal(sock) }), 2)

	// Between parks (the socket still readable, the eventfd signalled
	// again) the instance is empty: not readable.
	signal(wfd)
	pfd := []unix.PollFd{{Fd: int32(p.epfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 0); err != nil || n != 0 {
		t.Fatalf("between parks the epoll instance is readable (%d, %v): it would wake the runtime's poller", n, err)
	}
	drain(wfd)
	drain(sock)

	// The socket is closed and another opened on its number.
	old := sock
	unix.Close(sock)
	sock = newEventfd()
	defer unix.Close(sock)
	if sock != old {
		t.Skipf("the new descriptor is %d, not %d: cannot test its reuse", sock, old)
	}
	// The timerfd ends the wait if the new socket was not registered: its
	// events are then missing from the result.
	got := wait(sock, func() {
		signal(sock)
		arm()
	})
	if !got[2] {
		t.Fatalf("a socket opened on a closed one's descriptor was not waited for: readable %v", got)
	}
}
