// Package mail sends keepalived's e-mail alerts (global_defs
// notification_email, smtp_server, smtp_alert...): the subjects and bodies of
// keepalived 2.2.7's smtp_alert and its SMTP dialogue (HELO, MAIL FROM,
// RCPT TO per address, DATA, the Date/From/Subject/X-Mailer/To headers, the
// body, QUIT), each step bounded by the connect timeout.
//
// A Sender owns a bounded queue and one goroutine: Send never blocks, so an
// unreachable or slow mail server never delays VRRP, health checks or IPVS.
// A full queue drops the alert; every alert ends counted as sent, failed or
// dropped (Count; the daemon's lvs_ha_smtp_alerts_total{result}) and
// failures are logged.
package mail
