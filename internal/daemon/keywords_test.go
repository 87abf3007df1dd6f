package daemon

import (
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/healthcheck"
)

func httpGetSrc(url string) string {
	return `
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
` + url + `
            }
        }
    }
}
`
}

// A regex or regex_options RE2 cannot express is refused by the plan build
// (check-config, run and reload) at the url's location; the options, offsets
// and pattern reach the checker.
func TestPlanHTTPRegexOptions(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{`path /
regex "(?<=a)b"`, `test.conf:6:13): regex "(?<=a)b": error parsing regexp`},
		{`path /
regex "a b"
regex_options caseless extended`, `test.conf:6:13): regex "a b": regex_options extended: not supported`},
	} {
		_, err := newPlan(loadConf(t, httpGetSrc(tc.url)), &Options{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("url {%s}: error %v, want %q", tc.url, err, tc.err)
		}
	}
	p := testPlan(t, httpGetSrc(`path /
regex "HELLO"
regex_options caseless
regex_min_offset 2
regex_max_offset 10`))
	u := p.checks[0].Checker.(healthcheck.Definer).Definition().(healthcheck.HTTPOptions).URLs[0]
	if u.Regex != "HELLO" || len(u.RegexOptions) != 1 || u.RegexOptions[0] != "caseless" || u.RegexMinOffset != 2 || u.RegexMaxOffset != 10 {
		t.Errorf("url translated as %+v", u)
	}
}
