package ipvsadm

import (
	"net/netip"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

func TestParseTutorialCommands(t *testing.T) {
	tests := []struct {
		args []string
		want func(c *Command) bool
	}{
		{[]string{"-A", "-t", "10.0.0.3:80", "-s", "wrr", "-p", "20"}, func(c *Command) bool {
			return c.Cmd == CmdAdd && c.Service.Addr == netip.MustParseAddr("10.0.0.3") && c.Service.Port == 80 &&
				c.Service.Sched == "wrr" && c.Service.Timeout == 20 && c.Service.Flags == ipvs.FlagPersistent
		}},
		{[]string{"-a", "-t", "10.0.0.3:80", "-r", "10.0.0.7:80", "-g", "-w", "1"}, func(c *Command) bool {
			return c.Cmd == CmdAddDest && c.Dest.Method == ipvs.DR && c.Dest.Weight == 1 && c.Dest.Port == 80
		}},
		{[]string{"-A", "-f", "10", "-s", "rr", "-p"}, func(c *Command) bool {
			return c.Service.FWMark == 10 && c.Service.Timeout == DefaultPersistentTimeout && c.Service.Family == ipvs.FamilyIPv4
		}},
		{[]string{"-E", "-t", "10.0.0.3:80", "-s", "wlc"}, func(c *Command) bool { return c.Cmd == CmdEdit && c.Service.Flags == 0 }},
		{[]string{"-A", "-t", "10.0.0.3:0", "-s", "rr", "-p"}, func(c *Command) bool { return c.Service.Port == 0 }},
		{[]string{"-Z", "-t", "10.0.0.3:80"}, func(c *Command) bool { return c.Cmd == CmdZero && c.Options == OptService }},
		{[]string{"-Lnc"}, func(c *Command) bool { return c.Cmd == CmdList && c.Options == OptNumeric|OptConnection }},
		{[]string{"-Ln", "--exact", "--stats"}, func(c *Command) bool { return c.Format == FmtNumeric|FmtExact|FmtStats }},
		{[]string{"-p30", "-A", "-t", "[fd00::1]:443", "-M", "64"}, nil}, // -p before the command
		{[]string{"-A", "-t", "[fd00::1]:443", "-M", "64", "-p=30", "-b", "flag-1,flag-3"}, func(c *Command) bool {
			return c.Service.Netmask == 64 && c.Service.Timeout == 30 && c.Service.Flags == ipvs.FlagPersistent|ipvs.FlagSched1|ipvs.FlagSched3
		}},
		{[]string{"--set", "900", "120", "300"}, func(c *Command) bool { return c.Timeouts == [3]uint32{900, 120, 300} }},
		{[]string{"-S", "-n"}, func(c *Command) bool { return c.Format == FmtNumeric|FmtRule }},
	}
	for _, tc := range tests {
		c, err := Parse(append([]string{"ipvsadm"}, tc.args...), goldenResolver{})
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q: no error", tc.args)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !tc.want(c) {
			t.Errorf("%q: unexpected %+v", tc.args, c)
		}
	}
}

// The expected messages and codes were checked against ipvsadm 1.31 in the
// VM tier (TestVMErrorsMatchRealIpvsadm).
func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-Lq"}, 255, "-Lq: unknown option"},
		{[]string{"-L", "-A"}, 2, "invalid option `-A'"},
		{[]string{"-A", "-t", "10.0.0.3:0", "-s", "rr"}, 2, "Zero port specified for non-persistent service"},
		{[]string{"-A", "-t", "10.0.0.3:80", "-n"}, 2, "Illegal 'numeric' option with the 'add-service' command"},
		{[]string{"-a", "-t", "10.0.0.3:80"}, 2, "You need to supply the 'real-server' option for the 'add-server' command"},
		{[]string{"foo"}, 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."},
		{[]string{"-A", "-t", "300.1.1.1:80"}, 2, "illegal virtual server address[:port] specified"},
		{[]string{"-A", "-f", "0"}, 2, "invalid fwmark value `0' specified"},
		{[]string{"-A", "-t", "10.0.0.3:80", "-p", "abc"}, 2, "invalid timeout value `abc' specified"},
		{[]string{"--set", "1", "2"}, 2, "--set option requires 3 timeout values"},
		{[]string{"--set", "1", "2", "3", "4"}, 2, "unexpected argument 4"},
		{[]string{"-Lc", "--stats"}, 2, "options conflicts in the list command"},
		{[]string{"-A", "-t", "10.9.0.3:80", "-b", "flag-9"}, 2, "invalid scheduler flag `flag-9'"},
		{[]string{"-A", "-t", "10.9.0.3:80", "-s", "rr", "-b", "sh-port"}, 2, "incompatible scheduler flag `sh-port'"},
		{[]string{"-L", "-t"}, 255, "-t: missing argument"},
		{[]string{"-L", "--list=x"}, 255, "--list=x: option does not take an argument"},
		{[]string{"-A", "-6"}, 2, "-6 used before -f\n"},
		{[]string{"-a", "-t", "10.0.0.3:80", "-r", "[fd00::5]:80", "-m"}, 2, "Different address family is allowed only for tunneling servers"},
		{[]string{"-a", "-t", "10.0.0.3:80", "-r", "10.0.0.99", "-m", "--tun-type", "gue"}, 2, "Tunnel options conflict with forward method"},
		{[]string{"-a", "-t", "10.0.0.3:80", "-r", "10.0.0.99", "-i", "--tun-type", "gue"}, 2, "You need to supply the 'tun-port' option for the 'gue' tunnel type"},
		{[]string{"-A", "-t", "10.9.0.3:80", "-o"}, 2, "One-Packet Scheduling is only for UDP virtual services"},
		{[]string{"-A", "-t", "10.9.0.3:80", "-M", "255.255.0.0", "-M", "1"}, 2, "multiple 'netmask' options specified"},
		{[]string{"-L", "-n", "-c", "-t", "10.0.0.3:80"}, 2, "The option 'service-address' conflicts with the 'connection' option in the 'list' command"},
		{[]string{"-a", "-t", "10.0.0.3:80", "-r", "10.0.0.9", "-w", "2147483648"}, 2, "illegal weight specified"},
	}
	for _, tc := range tests {
		_, err := Parse(append([]string{"ipvsadm"}, tc.args...), goldenResolver{})
		xe, ok := err.(*ExitErr)
		if !ok || xe.Code != tc.code || xe.Msg != tc.msg {
			t.Errorf("%q: got %v, want exit %d %q", tc.args, err, tc.code, tc.msg)
		}
	}
}

func TestLargeNum(t *testing.T) {
	tests := []struct {
		n     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"}, {99999999, false, " 99999999"}, {100000000, false, "  100000K"},
		{999999999, false, "  999999K"}, {1000000000, false, "    1000M"}, {99999999999, false, "   99999M"},
		{100000000000, false, "     100G"}, {100000000000000, false, "     100T"},
		{5, true, "        5"}, {123456789012, true, " 123456789012"},
	}
	for _, tc := range tests {
		f := Format(0)
		if tc.exact {
			f = FmtExact
		}
		if got := largeNum(tc.n, f); got != tc.want {
			t.Errorf("largeNum(%d, exact=%v) = %q, want %q", tc.n, tc.exact, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-A -t 10.0.0.3:80 -s wrr -p 20")
	f.Add("-Ln --exact --stats")
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		for _, w := range splitWords(s) {
			args = append(args, w)
		}
		Parse(append([]string{"ipvsadm"}, args...), NumericResolver{})
	})
}

func splitWords(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}
