package daemon

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/mail/mailtest"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// mailConf is fifoConf with e-mail alerts to server (host port) and global
// lines extra.
func mailConf(server, extra string) string {
	host, port, _ := net.SplitHostPort(server)
	return fifoConf("    notification_email {\n        ops@example.org\n    }\n" +
		"    notification_email_from lvs@example.org\n    smtp_server " + host + " " + port + "\n" + extra)
}

// TestMailAlertsDaemon: with a real OpenSMTPD as smtp_server, a failover
// (the VRRP runner's MASTER notify) and a real server going down (its check,
// run by the real health runner, fails) each deliver keepalived's mail; the
// FAULT notify sends nothing with no_email_faults.
func TestMailAlertsDaemon(t *testing.T) {
	addr, mbox := mailtest.OpenSMTPD(t)
	td := newTestDaemon(t, mailConf(addr, "    smtp_alert_vrrp\n    no_email_faults\n"), true, false)
	td.start(t)
	td.notify.expect(t, "READY")
	onNotify := td.vrrps[0].opts.OnNotify
	onNotify(script.NotifyInstance, "VI_1", script.StateFault, 100)
	onNotify(script.NotifyInstance, "VI_1", script.StateMaster, 100)
	td.checker(t, checkID1).ok.Store(false)
	want := []string{
		"Subject: [lvs1] VRRP Instance VI_1 - Entering MASTER state",
		"=> VRRP Instance is now owning VRRP VIPs <=",
		"Subject: [lvs1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN",
		"=> TCP CHECK failed on service <=",
		"From: lvs@example.org",
		"To: ops@example.org",
	}
	var got string
	waitFor20 := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(mbox)
		got = string(b)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(waitFor20) {
			t.Fatalf("mbox lacks %q:\n%s\nlog:\n%s", missing, got, td.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// the 250 after the dot may reach the sender after the mda has written
	waitFor(t, "2 alerts counted sent", func() bool { return smtpAlerts(t, td, mail.ResultSent) >= 2 })
	td.stop()
	if strings.Contains(got, "FAULT") {
		t.Errorf("no_email_faults: FAULT mailed:\n%s", got)
	}
	if n := smtpAlerts(t, td, mail.ResultSent); n != 2 {
		t.Errorf("sent = %v, want 2", n)
	}
}

// TestMailBlackholeDoesNotDelay: the mail server accepts and never answers.
// The VRRP notify path (OnNotify, called synchronously by the runner)
// returns at once however many alerts come, a real server going down still
// leaves IPVS at once, and the failure (after smtp_connect_timeout) and the
// alerts the full queue dropped are counted.
func TestMailBlackholeDoesNotDelay(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	td := newTestDaemon(t, mailConf(l.Addr().String(), "    smtp_alert_vrrp\n    smtp_connect_timeout 1\n"), true, false)
	td.start(t)
	td.notify.expect(t, "READY")
	defer td.stop()
	onNotify := td.vrrps[0].opts.OnNotify
	start := time.Now()
	for i := range mail.QueueLen + 20 {
		st := script.StateMaster
		if i%2 == 1 {
			st = script.StateBackup
		}
		onNotify(script.NotifyInstance, "VI_1", st, 100)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("%d VRRP notifies took %v with a blackhole mail server", mail.QueueLen+20, d)
	}
	before := td.kernelDests(t)
	td.checker(t, checkID1).ok.Store(false)
	waitFor(t, "the failed real server leaving IPVS", func() bool { return td.kernelDests(t) == before-1 })
	if n := smtpAlerts(t, td, mail.ResultDropped); n < 1 {
		t.Errorf("dropped = %v, want > 0", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for smtpAlerts(t, td, mail.ResultFailed) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed alert counted; log:\n%s", td.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(td.logs.String(), "smtp alert not sent") {
		t.Errorf("failure not logged:\n%s", td.logs)
	}
}

// TestMailPlanDefaults are keepalived's defaults: no alerts without both
// smtp_server and notification_email; with them real servers alert, VRRP
// instances only with smtp_alert (or smtp_alert_vrrp / smtp_alert), FAULT
// not with no_email_faults.
func TestMailPlanDefaults(t *testing.T) {
	load := func(src string) *conf.Config {
		t.Helper()
		p := t.TempDir() + "/k.conf"
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, ds := conf.Load(p, conf.Options{})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		return cfg
	}
	if mp := newMailPlan(load(fifoConf("    smtp_server 127.0.0.1\n"))); mp.cfg != nil {
		t.Error("alerts without notification_email")
	}
	mp := newMailPlan(load(mailConf("127.0.0.1:25", "")))
	if mp.cfg == nil || mp.cfg.Server != "127.0.0.1:25" || mp.cfg.Timeout != 30*time.Second {
		t.Fatalf("plan %+v", mp.cfg)
	}
	if _, ok := mp.vrrpAlert(script.NotifyInstance, "VI_1", mail.Master); ok {
		t.Error("VRRP alert without smtp_alert")
	}
	cfg := load(mailConf("127.0.0.1:25", ""))
	if !cfg.VirtualServers[0].RealServers[0].SMTPAlert {
		t.Error("real server smtp_alert off by default")
	}
	mp = newMailPlan(load(mailConf("127.0.0.1:25", "    smtp_alert\n    no_email_faults\n")))
	if a, ok := mp.vrrpAlert(script.NotifyInstance, "VI_1", mail.Backup); !ok || a.Subject != "[lvs1] VRRP Instance VI_1 - Entering BACKUP state" {
		t.Errorf("smtp_alert: %q %v", a.Subject, ok)
	}
	if _, ok := mp.vrrpAlert(script.NotifyInstance, "VI_1", mail.Fault); ok {
		t.Error("FAULT mailed with no_email_faults")
	}
}

// alertsOf are the e-mail alerts among acts.
func alertsOf(acts []action) []mail.Alert {
	var as []mail.Alert
	for _, a := range acts {
		if a.alert != nil {
			as = append(as, *a.alert)
		}
	}
	return as
}

// TestLVSStateAlerts: lvsState's real server alerts (on by default) and a
// virtual server's quorum alerts (with its smtp_alert), as keepalived's
// checkers and do_vs_notifies word them; smtp_alert_checker off silences
// the real servers.
func TestLVSStateAlerts(t *testing.T) {
	src := strings.Replace(mailConf("127.0.0.1:25", ""), "    lvs_sched wrr\n", "    lvs_sched wrr\n    quorum 3\n    smtp_alert\n", 1)
	s := testPlan(t, src).lvs
	down, _ := s.step(healthcheck.Transition{ID: checkID1, Up: false})
	up, _ := s.step(healthcheck.Transition{ID: checkID1, Up: true})
	want := []mail.Alert{
		{Subject: "[lvs1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN", Body: "=> TCP CHECK failed on service <="},
		{Subject: "[lvs1] Virtualserver [192.0.2.1]:tcp:80 - DOWN", Body: "=> Lost quorum 3+0=3 <= 2 <="},
		{Subject: "[lvs1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - UP", Body: "=> TCP CHECK succeed on service <="},
		{Subject: "[lvs1] Virtualserver [192.0.2.1]:tcp:80 - UP", Body: "=> Gained quorum 3+0=3 <= 3 <="},
	}
	if got := append(alertsOf(down), alertsOf(up)...); !slices.Equal(got, want) {
		t.Errorf("alerts\n got %q\nwant %q", got, want)
	}
	s = testPlan(t, strings.Replace(src, "    smtp_server", "    smtp_alert_checker off\n    smtp_server", 1)).lvs
	down, _ = s.step(healthcheck.Transition{ID: checkID1, Up: false})
	if got := alertsOf(down); len(got) != 1 || !strings.Contains(got[0].Subject, "Virtualserver") {
		t.Errorf("smtp_alert_checker off: alerts %q, want the virtual server's only", got)
	}
}

// TestMailSyncGroup: a vrrp_sync_group with smtp_alert mails its
// transitions, as vrrp_sync_group_smtp_notifier.
func TestMailSyncGroup(t *testing.T) {
	src := mailConf("127.0.0.1:25", "") + "vrrp_sync_group VG {\n    group {\n        VI_1\n    }\n    smtp_alert\n}\n"
	mp := newMailPlan(loadConf(t, src))
	a, ok := mp.vrrpAlert(script.NotifyGroup, "VG", mail.Master)
	if want := (mail.Alert{Subject: "[lvs1] VRRP Group VG - Entering MASTER state", Body: "=> All VRRP group instances are now in MASTER state <="}); !ok || a != want {
		t.Errorf("group alert %q %v, want %q", a, ok, want)
	}
	if _, ok := mp.vrrpAlert(script.NotifyInstance, "VI_1", mail.Master); ok {
		t.Error("the member instance mails without its own smtp_alert")
	}
}

// smtpAlerts is lvs_ha_smtp_alerts_total{result} of td's registry.
func smtpAlerts(t *testing.T, td *testDaemon, result string) float64 {
	t.Helper()
	mfs, err := td.d.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lvs_ha_smtp_alerts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no lvs_ha_smtp_alerts_total{result=%q}", result)
	return 0
}

// TestMailReload: a reload that adds a mail server starts the sender (and
// one that removes it stops it).
func TestMailReload(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close() // refuses the dialogue: a failure at once
		}
	}()
	td := newTestDaemon(t, fifoConf(""), true, false)
	td.start(t)
	td.notify.expect(t, "READY")
	defer td.stop()
	if td.d.mailer.Load() != nil {
		t.Fatal("a sender without smtp_server")
	}
	if err := os.WriteFile(td.file, []byte(mailConf(l.Addr().String(), "    smtp_alert_vrrp\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	td.vrrps[0].opts.OnNotify(script.NotifyInstance, "VI_1", script.StateMaster, 100)
	waitFor(t, "the alert counted failed", func() bool { return smtpAlerts(t, td, mail.ResultFailed) >= 1 })
	if err := os.WriteFile(td.file, []byte(fifoConf("")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	if td.d.mailer.Load() != nil {
		t.Error("the sender outlived smtp_server")
	}
}

// twoCheckConf is mailConf with a second checker (HTTP_GET) on 10.0.0.1:80,
// both without retries.
func twoCheckConf(server, extra string) string {
	return strings.Replace(mailConf(server, extra), "        TCP_CHECK {\n            connect_timeout 1\n        }\n",
		"        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n        HTTP_GET {\n            retry 0\n            url {\n                path /\n            }\n        }\n", 1)
}

const checkID1HTTP = "TCP 192.0.2.1:80/10.0.0.1:80/HTTP_GET#1"

// rsSubject is the subject of 10.0.0.1:80's alerts in state word.
func rsSubject(word string) string {
	return "[lvs1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - " + word
}

// TestLVSStateCheckerEmails: keepalived's checkers mail every transition of
// a check (the subject has the real server's state, the body the
// checker's), and with no_checker_emails only those that take the real
// server up or down.
func TestLVSStateCheckerEmails(t *testing.T) {
	steps := []healthcheck.Transition{
		{ID: checkID1, Up: false},
		{ID: checkID1HTTP, Up: false},
		{ID: checkID1, Up: true},
		{ID: checkID1HTTP, Up: true},
	}
	all := []mail.Alert{
		{Subject: rsSubject("DOWN"), Body: "=> TCP CHECK failed on service <="},
		{Subject: rsSubject("DOWN"), Body: "=> CHECK failed on service : HTTP request failed <="},
		{Subject: rsSubject("DOWN"), Body: "=> TCP CHECK succeed on service <="},
		{Subject: rsSubject("UP"), Body: "=> CHECK succeed on service <="},
	}
	for _, tc := range []struct {
		extra string
		want  []mail.Alert
	}{
		{"", all},
		{"    no_checker_emails\n", []mail.Alert{all[0], all[3]}},
	} {
		s := testPlan(t, twoCheckConf("127.0.0.1:25", tc.extra)).lvs
		var got []mail.Alert
		for _, tr := range steps {
			acts, _ := s.step(tr)
			got = append(got, alertsOf(acts)...)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: alerts\n got %q\nwant %q", tc.extra, got, tc.want)
		}
	}
}

// TestMailNoCheckerEmails: with a real OpenSMTPD, a real server whose two
// checks fail and recover one after the other delivers four mails by
// default and, with no_checker_emails, only the two that take it down and
// up.
func TestMailNoCheckerEmails(t *testing.T) {
	addr, mbox := mailtest.OpenSMTPD(t)
	for _, tc := range []struct {
		extra string
		want  []string // the bodies delivered, in order
	}{
		{"", []string{"=> TCP CHECK failed on service <=", "=> CHECK failed on service : HTTP request failed <=",
			"=> TCP CHECK succeed on service <=", "=> CHECK succeed on service <="}},
		{"    no_checker_emails\n", []string{"=> TCP CHECK failed on service <=", "=> CHECK succeed on service <="}},
	} {
		// the mda (nobody) creates the mbox: empty it, never create it
		if err := os.Truncate(mbox, 0); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		td := newTestDaemon(t, twoCheckConf(addr, tc.extra), false, false)
		td.start(t)
		td.notify.expect(t, "READY")
		// each step waits for its transition so the order is known
		transitions := 0
		for _, st := range []struct {
			id string
			ok bool
		}{{checkID1, false}, {checkID1HTTP, false}, {checkID1, true}, {checkID1HTTP, true}} {
			td.checker(t, st.id).ok.Store(st.ok)
			transitions++
			waitFor(t, "check transition", func() bool {
				return strings.Count(td.logs.String(), `msg="check transition"`) >= transitions
			})
		}
		// OpenSMTPD queues each mail on its own, so it may deliver them in
		// another order than they were sent (the sending order is
		// TestLVSStateCheckerEmails'): wait for them all, compare as sets.
		bodiesOf := func(mb string) []string {
			var bodies []string
			for _, line := range strings.Split(mb, "\n") {
				if line = strings.TrimRight(line, "\r"); strings.HasPrefix(line, "=> ") {
					bodies = append(bodies, line)
				}
			}
			return bodies
		}
		var got string
		for deadline := time.Now().Add(20 * time.Second); len(bodiesOf(got)) < len(tc.want); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%q: mbox lacks mails, want %q:\n%s\nlog:\n%s", tc.extra, tc.want, got, td.logs)
			}
			b, _ := os.ReadFile(mbox)
			got = string(b)
		}
		td.stop()
		bodies, want := bodiesOf(got), slices.Clone(tc.want)
		slices.Sort(bodies)
		slices.Sort(want)
		if !slices.Equal(bodies, want) {
			t.Errorf("%q: delivered\n%q\nwant\n%q", tc.extra, bodies, want)
		}
		if n := strings.Count(got, "Subject: "+rsSubject("UP")); n != 1 {
			t.Errorf("%q: %d UP mails, want 1", tc.extra, n)
		}
	}
}
