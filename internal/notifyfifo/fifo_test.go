package notifyfifo

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/script"
)

// readerScript writes a _script that appends every line of the FIFO given as
// its last argument to out.
func readerScript(t *testing.T, dir, out string) *script.Spec {
	t.Helper()
	p := filepath.Join(dir, "reader-"+filepath.Base(out)+".sh")
	body := "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + out + "; done < \"$1\"\n"
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return &script.Spec{Argv: []string{p}}
}

// waitLines polls out (written by a real script) until it has n lines.
func waitLines(t *testing.T, out string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader wrote %q, want %d lines", b, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLastLine waits until out (a reader's output) ends with the line last
// and returns its lines.
func waitLastLine(t *testing.T, out, last string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if lines[len(lines)-1] == last {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader wrote %q, want it to end with %q", b, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFIFOCreatedReadByScriptAndRemoved(t *testing.T) {
	dir := t.TempDir()
	path, out := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "out")
	f, err := Open(Config{Path: path, Script: readerScript(t, dir, out)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Type() != fs.ModeNamedPipe || st.Mode().Perm() != 0o644&^umask() {
		t.Fatalf("FIFO: %v %v", st.Mode(), err)
	}
	var want []string
	for i := range 50 {
		l := VRRPLine(KindInstance, fmt.Sprintf("VI_%d", i), "MASTER", i)
		want = append(want, strings.TrimSuffix(l, "\n"))
		if !f.Send(l) {
			t.Fatal("Send dropped a line")
		}
	}
	got := waitLines(t, out, len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reader got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("FIFO created by Open not removed at Close: %v", err)
	}
	if f.Send("late\n") {
		t.Fatal("Send after Close accepted")
	}
}

func umask() fs.FileMode {
	dir, _ := os.MkdirTemp("", "umask")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	os.WriteFile(p, nil, 0o777)
	st, _ := os.Stat(p)
	return 0o777 &^ st.Mode().Perm()
}

func TestExistingFIFOKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fifo")
	f, err := Open(Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.f.Close() // keep the file: simulate a FIFO made by the operator
	f.created = false
	f2, err := Open(Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f2.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a FIFO lvs-ha did not create was removed: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(Config{Path: filepath.Join(dir, "missing", "fifo")}, nil); err == nil {
		t.Fatal("FIFO in a missing directory opened")
	}
	reg := filepath.Join(dir, "regular")
	os.WriteFile(reg, nil, 0o644)
	if _, err := Open(Config{Path: reg}, nil); err == nil || !strings.Contains(err.Error(), "not a FIFO") {
		t.Fatalf("regular file: %v", err)
	}
}

// Without a reader the pipe fills, then the queue: Send keeps returning at
// once and counts what it drops.
func TestSendNeverBlocksWithoutReader(t *testing.T) {
	var logBuf bytes.Buffer
	f, err := Open(Config{Path: filepath.Join(t.TempDir(), "fifo")}, testLogger(&logBuf))
	if err != nil {
		t.Fatal(err)
	}
	line := VRRPLine(KindInstance, strings.Repeat("x", 80), "BACKUP", 100)
	done := make(chan int)
	go func() {
		ok := 0
		for range 5000 {
			if f.Send(line) {
				ok++
			}
		}
		done <- ok
	}()
	select {
	case ok := <-done:
		if f.Dropped() == 0 || ok+int(f.Dropped()) != 5000 {
			t.Fatalf("sent %d, dropped %d", ok, f.Dropped())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked without a reader")
	}
	f.Close()
	// Logged once per burst of drops (a burst ends when a line is queued).
	if n := strings.Count(logBuf.String(), "event dropped"); n == 0 || uint64(n) > f.Dropped()/10 {
		t.Fatalf("drop logged %d times for %d drops:\n%s", n, f.Dropped(), logBuf.String())
	}
}

func TestSetDedupAndRouting(t *testing.T) {
	dir := t.TempDir()
	g, v, l := filepath.Join(dir, "g"), filepath.Join(dir, "v"), filepath.Join(dir, "l")
	outG, outV, outL := filepath.Join(dir, "og"), filepath.Join(dir, "ov"), filepath.Join(dir, "ol")
	s, err := OpenSet(&Config{Path: g, Script: readerScript(t, dir, outG)},
		&Config{Path: v, Script: readerScript(t, dir, outV)},
		&Config{Path: l, Script: readerScript(t, dir, outL)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.VRRP(VRRPLine(KindInstance, "VI_1", "MASTER", 100))
	s.LVS(VSLine("[10.0.0.1]:tcp:80", false))
	s.VRRP(VRRPLine(KindGroup, "G", "MASTER", 0))
	if got := waitLines(t, outG, 3); got[1] != "VS [10.0.0.1]:tcp:80 DOWN" {
		t.Fatalf("global: %q", got)
	}
	if got := waitLines(t, outV, 2); len(got) != 2 || got[1] != `GROUP "G" MASTER 0` {
		t.Fatalf("vrrp: %q", got)
	}
	if got := waitLines(t, outL, 1); len(got) != 1 {
		t.Fatalf("lvs: %q", got)
	}
	s.Close()

	// Same path for global and vrrp: the vrrp FIFO is ignored, nothing is doubled.
	s, err = OpenSet(&Config{Path: g}, &Config{Path: g}, nil, nil)
	if err != nil || s.vrrp != nil || s.global == nil {
		t.Fatalf("%+v %v", s, err)
	}
	s.Close()
	// Same path for vrrp and lvs: one FIFO.
	s, err = OpenSet(nil, &Config{Path: v}, &Config{Path: v}, nil)
	if err != nil || s.vrrp != s.lvs || len(s.fifos()) != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	s.Close()
}

// startingReader is readerScript whose reader first writes START to out.
func startingReader(t *testing.T, dir, out string) *script.Spec {
	t.Helper()
	p := filepath.Join(dir, "sreader-"+filepath.Base(out)+".sh")
	body := "#!/bin/sh\necho START >> " + out + "\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + out + "; done < \"$1\"\n"
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return &script.Spec{Argv: []string{p}}
}

// TestSetReopen: a reload's Reopen keeps an unchanged FIFO as it is (the
// same reader, started once, gets every line sent across the swap, in
// order), moves a FIFO whose path changed (the old one removed, the new
// one's reader gets the lines from the swap on) and recreates one whose
// reader changed at the same path.
func TestSetReopen(t *testing.T) {
	dir := t.TempDir()
	g, v1, v2, l := filepath.Join(dir, "g"), filepath.Join(dir, "v1"), filepath.Join(dir, "v2"), filepath.Join(dir, "l")
	outG, outV1, outV2, outL1, outL2 := filepath.Join(dir, "og"), filepath.Join(dir, "ov1"), filepath.Join(dir, "ov2"), filepath.Join(dir, "ol1"), filepath.Join(dir, "ol2")
	gc := &Config{Path: g, Script: startingReader(t, dir, outG), What: "notify_fifo"}
	s, err := OpenSet(gc, &Config{Path: v1, Script: startingReader(t, dir, outV1)},
		&Config{Path: l, Script: startingReader(t, dir, outL1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[Set]
	cur.Store(s)
	const n = 600
	swapAt := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			if i == n/3 {
				close(swapAt)
			}
			cur.Load().VRRP(VRRPLine(KindInstance, fmt.Sprintf("VI_%d", i), "MASTER", 100))
			cur.Load().LVS(VSLine(fmt.Sprintf("[10.0.0.%d]:tcp:80", i%250+1), true))
			time.Sleep(200 * time.Microsecond)
		}
	}()
	<-swapAt
	gc2 := *gc // an equal configuration, not the same pointer
	ns, err := s.Reopen(&gc2, &Config{Path: v2, Script: startingReader(t, dir, outV2)},
		&Config{Path: l, Script: startingReader(t, dir, outL2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur.Store(ns)
	<-sent
	if ns.global != s.global {
		t.Error("the unchanged global FIFO was reopened")
	}
	if _, err := os.Stat(v1); !os.IsNotExist(err) {
		t.Errorf("the old vrrp FIFO %s is still there: %v", v1, err)
	}
	// global: one START, then all 2n lines in order
	got := waitLines(t, outG, 2*n+1)
	if got[0] != "START" || len(got) != 2*n+1 {
		t.Fatalf("global reader: %d lines, first %q", len(got), got[0])
	}
	for i := range n {
		if w := fmt.Sprintf(`INSTANCE "VI_%d" MASTER 100`, i); got[1+2*i] != w {
			t.Fatalf("global line %d = %q, want %q", 1+2*i, got[1+2*i], w)
		}
	}
	// vrrp: the old reader got a prefix, the new one the rest from the swap on
	// The new reader's script may still be writing when the last line has
	// gone into the FIFO: wait for that line, not for any two.
	old, nw := waitLines(t, outV1, 2), waitLastLine(t, outV2, fmt.Sprintf(`INSTANCE "VI_%d" MASTER 100`, n-1))
	if old[0] != "START" || nw[0] != "START" {
		t.Fatalf("readers: %q %q", old[0], nw[0])
	}
	var idx []int
	for _, line := range append(old[1:], nw[1:]...) {
		var i int
		if _, err := fmt.Sscanf(line, `INSTANCE "VI_%d" MASTER 100`, &i); err != nil {
			t.Fatalf("vrrp line %q", line)
		}
		idx = append(idx, i)
	}
	for k := 1; k < len(idx); k++ {
		if idx[k] <= idx[k-1] {
			t.Fatalf("vrrp lines out of order across the swap: %v", idx)
		}
	}
	if idx[len(idx)-1] != n-1 || idx[len(old)-2] < n/3-1 {
		t.Errorf("vrrp: old reader up to %d, new reader up to %d", idx[len(old)-2], idx[len(idx)-1])
	}
	// lvs: same path, new reader: the new reader gets the last line
	if ls := waitLines(t, outL2, 2); ls[0] != "START" {
		t.Fatalf("new lvs reader: %q", ls)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(outL2)
		if strings.HasSuffix(string(b), fmt.Sprintf("VS [10.0.0.%d]:tcp:80 UP\n", (n-1)%250+1)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new lvs reader: %q", b)
		}
	}
	if st, err := os.Stat(l); err != nil || st.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("lvs FIFO after the reopen: %v", err)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{g, v2, l} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not removed at Close", p)
		}
	}
}
