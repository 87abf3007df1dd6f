package conf

import (
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

const testConfigID = "lvs-ha-test"

// loadSrc loads an in-memory configuration.
func loadSrc(t testing.TB, name, src string) (*Config, syntax.Diagnostics) {
	t.Helper()
	return LoadBytes(name, []byte(src), Options{ConfigID: testConfigID})
}

// loadFile loads a file from disk.
func loadFile(t testing.TB, path string) (*Config, syntax.Diagnostics) {
	t.Helper()
	return loadFileID(t, path, testConfigID)
}

func loadFileID(t testing.TB, path, id string) (*Config, syntax.Diagnostics) {
	t.Helper()
	return Load(path, Options{ConfigID: id})
}

func errorsOf(ds syntax.Diagnostics) []syntax.Diagnostic {
	var out []syntax.Diagnostic
	for _, d := range ds {
		if d.Severity == syntax.Error {
			out = append(out, d)
		}
	}
	return out
}

func dump(ds syntax.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
