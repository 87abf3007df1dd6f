package daemon

import (
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// mailPlan is the e-mail alerts of global_defs (smtp_server,
// notification_email...) and which VRRP instances and sync groups send them
// (their resolved smtp_alert). keepalived sends nothing without both a mail
// server and a recipient; then the defaults are conf's: real servers alert
// unless smtp_alert_checker/smtp_alert say no, VRRP and virtual servers only
// when asked.
type mailPlan struct {
	cfg      *mail.Config // nil: no alerts
	routerID string
	noFaults bool            // no_email_faults
	vrrp     map[string]bool // notify kind + "/" + name → smtp_alert
}

func newMailPlan(cfg *conf.Config) mailPlan {
	g := &cfg.Global
	if g.SMTPServer == "" || len(g.NotificationEmail) == 0 {
		return mailPlan{}
	}
	host, _ := os.Hostname()
	mp := mailPlan{routerID: g.RouterID, noFaults: g.NoEmailFaults, vrrp: map[string]bool{}}
	if mp.routerID == "" {
		mp.routerID = host // keepalived's default router_id
	}
	c := &mail.Config{
		Server:   net.JoinHostPort(g.SMTPServer, strconv.Itoa(int(g.SMTPPort))),
		HeloName: g.SMTPHeloName,
		From:     g.NotificationEmailFrom,
		To:       g.NotificationEmail,
		Timeout:  g.SMTPConnectTimeout.Std(),
	}
	if c.HeloName == "" {
		c.HeloName = host
	}
	if c.From == "" {
		c.From = "keepalived@" + host
	}
	mp.cfg = c
	for _, in := range cfg.VRRPInstances {
		mp.vrrp[string(script.NotifyInstance)+"/"+in.Name] = in.SMTPAlert
	}
	for _, sg := range cfg.SyncGroups {
		mp.vrrp[string(script.NotifyGroup)+"/"+sg.Name] = sg.SMTPAlert
	}
	return mp
}

// vrrpAlert is vrrp_smtp_notifier / vrrp_sync_group_smtp_notifier: the
// alert for a VRRP notify (MASTER, BACKUP or FAULT of an instance or sync
// group with smtp_alert; FAULT not with no_email_faults).
func (mp mailPlan) vrrpAlert(kind script.NotifyKind, name, state string) (mail.Alert, bool) {
	if mp.cfg == nil || !mp.vrrp[string(kind)+"/"+name] || (mp.noFaults && state == mail.Fault) {
		return mail.Alert{}, false
	}
	switch kind {
	case script.NotifyInstance:
		return mail.Instance(mp.routerID, name, state)
	case script.NotifyGroup:
		return mail.Group(mp.routerID, name, state)
	}
	return mail.Alert{}, false
}

func (mp mailPlan) equal(o mailPlan) bool {
	if mp.cfg == nil || o.cfg == nil {
		return mp.cfg == o.cfg
	}
	return reflect.DeepEqual(*mp.cfg, *o.cfg)
}

// checkerKind is the checker type of a metrics.CheckInfo.Checker label
// ("HTTP_GET#1" → "HTTP_GET").
func checkerKind(label string) string {
	k, _, _ := strings.Cut(label, "#")
	return k
}

// mailVRRP sends the alert of a VRRP notify, if any; it never blocks.
func (d *Daemon) mailVRRP(kind script.NotifyKind, name, state string) {
	if a, ok := d.plan.Load().mail.vrrpAlert(kind, name, state); ok {
		d.mailer.Load().Send(a)
	}
}

// startMail starts the sender of p's alerts (nil without alerts).
func (d *Daemon) startMail(p *plan) *mail.Sender {
	if p.mail.cfg == nil {
		return nil
	}
	return mail.Start(*p.mail.cfg, d.log, d.metrics.SMTPAlert)
}
