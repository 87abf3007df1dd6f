// Package deploy holds lvs-ha's deployment files, which are not Go code:
//
//   - lvs-ha.service: a hardened systemd unit (Type=notify, reload by SIGHUP,
//     only CAP_NET_ADMIN and CAP_NET_RAW);
//   - lvs-ha-ipvsadm.service: the `ipvsadm` service of the LVS guides, a
//     oneshot that runs the binary as ipvsadm-restore on a saved rules file
//     (/etc/lvs-ha/ipvsadm.rules) at boot, before lvs-ha;
//   - prometheus-rules.yml: alerting rules (split brain, no master, fault, real
//     server down, reload failed, ...) with promtool unit tests in
//     prometheus-rules_test.yml;
//   - grafana-dashboard.json: a dashboard of VRRP, IPVS and health-check series.
//
// Its tests check them: systemd-analyze verify and promtool when installed,
// and that every series and label they use is documented in docs/metrics.md
// (which internal/metrics keeps equal to what /metrics serves).
package deploy
