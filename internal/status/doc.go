// Package status serves lvs-ha's HTTP endpoints — GET /metrics (Prometheus) and
// GET /status (a JSON [Document] of VRRP instances and virtual servers) — and
// renders the status document as a table for `lvs-ha status`.
//
// The document is built by [Build] from the same snapshot sources as the
// metrics ([metrics.Sources]); the server reads them at request time through
// [SourceProvider], which *metrics.Metrics implements. GET /status writes the
// same bytes through [WriteJSON], one virtual server at a time, so that a
// large table's document and JSON are never held whole.
package status
