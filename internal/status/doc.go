// Package status serves lvs-ha's HTTP endpoints — GET /metrics (Prometheus) and
// GET /status (a JSON [Document] of VRRP instances and virtual servers) — and
// renders the status document as a table for `lvs-ha status`.
//
// The document is built by [Build] from the same snapshot sources as the
// metrics ([metrics.Sources]); the server reads them at request time through
// [SourceProvider], which *metrics.Metrics implements.
package status
