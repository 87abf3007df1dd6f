package ipvsadm

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// listings are the read-only command lines whose output is compared with
// the real ipvsadm 1.31 (in the VM tier) and with testdata/golden (unit).
var listings = []struct {
	name string
	args []string
}{
	{"Ln", []string{"-Ln"}},
	{"Ln_stats", []string{"-Ln", "--stats"}},
	{"Ln_rate", []string{"-Ln", "--rate"}},
	{"Ln_exact_stats", []string{"-Ln", "--exact", "--stats"}},
	{"Ln_thresholds", []string{"-Ln", "--thresholds"}},
	{"Ln_persistent_conn", []string{"-Ln", "--persistent-conn"}},
	{"Ln_tun_info", []string{"-Ln", "--tun-info"}},
	{"Ln_service", []string{"-Ln", "-t", "10.0.0.3:80"}},
	{"Ln_fwmark6", []string{"-L", "-n", "-f", "20", "-6"}},
	{"Ln_service_stats", []string{"-l", "--stats", "-n", "-u", "10.0.0.4:53"}},
	{"Lnc", []string{"-Lnc"}},
	{"L_timeout", []string{"-L", "--timeout"}},
	{"S_n", []string{"-S", "-n"}},
	{"L", []string{"-L"}},
	{"S", []string{"-S"}},
}

// readScenario returns the command lines of a testdata file.
func readScenario(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.Fields(sc.Text()); len(w) > 0 && !strings.HasPrefix(w[0], "#") {
			out = append(out, w)
		}
	}
	return out
}
