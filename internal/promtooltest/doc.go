// Package promtooltest finds Prometheus's promtool for the tests that run
// `promtool check metrics` on what lvs-ha exposes (internal/metrics, bgp).
// Test code only.
package promtooltest
