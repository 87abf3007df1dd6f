package mail_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/mail/mailtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOpenSMTPDDelivers sends a failover alert and a real server down alert
// through a real OpenSMTPD and reads them from its mbox.
func TestOpenSMTPDDelivers(t *testing.T) {
	addr, mbox := mailtest.OpenSMTPD(t)
	count := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smtp_alerts_total"}, []string{"result"})
	s := mail.Start(mail.Config{Server: addr, HeloName: "lb1", From: "lvs@example.org",
		To: []string{"ops@example.org", "oncall@example.org"}, Timeout: 10 * time.Second}, nil, func(r string) { count.WithLabelValues(r).Inc() })
	defer s.Close()
	vrrpAlert, _ := mail.Instance("lb1", "VI_1", mail.Master)
	rsAlert := mail.RealServer("lb1", "[10.0.0.1]:tcp:80", "[192.168.1.2]:tcp:80", false, mail.CheckerBody("TCP_CHECK", false, false))
	s.Send(vrrpAlert)
	s.Send(rsAlert)
	want := []string{
		"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state",
		"=> VRRP Instance is now owning VRRP VIPs <=",
		"Subject: [lb1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.168.1.2]:tcp:80 - DOWN",
		"=> TCP CHECK failed on service <=",
		"From: lvs@example.org",
		"To: ops@example.org, oncall@example.org",
		"X-Mailer: Keepalived",
	}
	var got string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(mbox)
		got = string(b)
		all := true
		for _, w := range want {
			// two recipients: each message is delivered twice
			if strings.Count(got, w) < 1 {
				all = false
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mbox lacks %q; mbox:\n%s", want, got)
		}
	}
	// the 250 after the dot may reach the sender after the mda has written
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(count.WithLabelValues(mail.ResultSent)) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := testutil.ToFloat64(count.WithLabelValues(mail.ResultSent)); n != 2 {
		t.Errorf("sent = %v, want 2", n)
	}
	t.Logf("mbox:\n%s", got)
}
