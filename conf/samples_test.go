package conf

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sampleFiles are keepalived's own example configurations, when installed.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	if _, err := os.Stat("/etc/keepalived/keepalived.conf.sample"); err == nil {
		files = append(files, "/etc/keepalived/keepalived.conf.sample")
	}
	if len(files) == 0 {
		t.Skip("no keepalived sample configurations installed")
	}
	return files
}

var (
	reVI      = regexp.MustCompile(`^\s*vrrp_instance\s`)
	reVS      = regexp.MustCompile(`^\s*virtual_server\s`)
	reRS      = regexp.MustCompile(`^\s*real_server\s`)
	reChecker = regexp.MustCompile(`^\s*(TCP_CHECK|HTTP_GET|SSL_GET|SMTP_CHECK|DNS_CHECK|MISC_CHECK|UDP_CHECK|PING_CHECK|BFD_CHECK|FILE_CHECK)(\s|\{|$)`)
	reCond    = regexp.MustCompile(`^\s*@(\^?)(\S*)\s*(.*)$`)
)

// textCounts counts blocks with regular expressions over non-comment lines,
// independently of the parser (no includes or parameter expansion in the samples).
func textCounts(t *testing.T, path, configID string) Counts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c Counts
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := reCond.FindStringSubmatch(line); m != nil {
			match := m[2] == configID
			if (m[1] == "") != match {
				continue
			}
			line = m[3]
		}
		if i := strings.IndexAny(line, "#!"); i >= 0 {
			line = line[:i]
		}
		switch {
		case reVI.MatchString(line):
			c.VRRPInstances++
		case reVS.MatchString(line):
			c.VirtualServers++
		case reRS.MatchString(line):
			c.RealServers++
		case reChecker.MatchString(line):
			c.Checkers++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// sampleIDs are the config ids a sample is written for: keepalived.conf.conditional_conf
// is only complete (its vrrp_script has a script) for -i high or -i low.
var sampleIDs = map[string][]string{
	"keepalived.conf.conditional_conf": {"high", "low"},
}

func TestSamplesLoadWithoutErrors(t *testing.T) {
	for _, path := range sampleFiles(t) {
		ids := sampleIDs[filepath.Base(path)]
		if ids == nil {
			ids = []string{testConfigID}
		}
		for _, id := range ids {
			t.Run(filepath.Base(path)+"/"+id, func(t *testing.T) { testSample(t, path, id) })
		}
	}
}

// refusedSamples are the samples lvs-ha refuses, with their only error.
var refusedSamples = map[string]string{
	// keepalived 2.2.7 implements IPsec AH; lvs-ha does not.
	"keepalived.conf.SSL_GET": "AH authentication is not supported by lvs-ha",
}

func testSample(t *testing.T, path, id string) {
	cfg, ds := loadFileID(t, path, id)
	if want, ok := refusedSamples[filepath.Base(path)]; ok {
		errs := errorsOf(ds)
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, want) {
			t.Fatalf("want exactly the error %q, got:\n%s", want, dump(ds))
		}
		return
	}
	if errs := errorsOf(ds); len(errs) > 0 {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	want := textCounts(t, path, id)
	if cfg.Counts != want {
		t.Errorf("counts %+v, textual count %+v", cfg.Counts, want)
	}
	// Nothing was dropped: the model holds as many objects as the file.
	var rs, ck int
	for _, v := range cfg.VirtualServers {
		rs += len(v.RealServers)
		for _, r := range v.RealServers {
			ck += len(r.Checkers)
		}
	}
	got := Counts{len(cfg.VRRPInstances), len(cfg.VirtualServers), rs, ck}
	if got != want {
		t.Errorf("model holds %+v, textual count %+v", got, want)
	}
	t.Logf("%v; %d warnings", cfg.Counts, len(ds))
}
