package status

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

// streamFlush is the size at which WriteJSON hands its buffer to the writer.
const streamFlush = 32 << 10

// WriteJSON writes the document of src at now to w, byte for byte what
// json.Encoder with SetIndent("", "  ") writes for Build(src, version, now),
// but one virtual server at a time through a reused buffer: at 1,000 x 10
// building the document and its JSON whole cost ~12 MiB resident per GET
// /status (issue #15).
func WriteJSON(w io.Writer, src metrics.Sources, version string, now time.Time) error {
	doc, vss := build(src, version, now, true)
	s := &jsonStream{w: w}
	s.enc = json.NewEncoder(&s.buf)
	s.raw("{")
	s.field("version", doc.Version, true)
	s.field("time", doc.Time, false)
	s.field("instances", doc.Instances, false)
	if len(doc.SyncGroups) > 0 {
		s.field("sync_groups", doc.SyncGroups, false)
	}
	s.raw(",\n  \"virtual_servers\": [")
	n := 0
	for vs := range vss {
		if s.err != nil {
			break
		}
		if n > 0 {
			s.raw(",")
		}
		s.raw("\n    ")
		s.value("    ", &vs)
		n++
	}
	if n > 0 {
		s.raw("\n  ")
	}
	s.raw("]")
	if doc.IPVSError != "" {
		s.field("ipvs_error", doc.IPVSError, false)
	}
	if doc.ConnSync != nil {
		s.field("connection_sync", doc.ConnSync, false)
	}
	if doc.BGP != nil {
		s.field("bgp", doc.BGP, false)
	}
	s.raw("\n}\n")
	s.flush()
	return s.err
}

// jsonStream writes indented JSON values through one buffer and encoder
// (whose indentation buffer is reused too).
type jsonStream struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

func (s *jsonStream) raw(str string) { s.buf.WriteString(str) }

// field writes a top-level member: `"name": value`, after a comma unless first.
func (s *jsonStream) field(name string, v any, first bool) {
	if !first {
		s.raw(",")
	}
	s.raw("\n  \"" + name + "\": ")
	s.value("  ", v)
}

// value writes v indented as it would be at the depth that prefix gives.
func (s *jsonStream) value(prefix string, v any) {
	if s.err != nil {
		return
	}
	s.enc.SetIndent(prefix, "  ")
	if err := s.enc.Encode(v); err != nil {
		s.err = err
		return
	}
	s.buf.Truncate(s.buf.Len() - 1) // Encode's newline
	if s.buf.Len() >= streamFlush {
		s.flush()
	}
}

func (s *jsonStream) flush() {
	if s.err == nil && s.buf.Len() > 0 {
		_, s.err = s.w.Write(s.buf.Bytes())
	}
	s.buf.Reset()
}
