package cli

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"
)

const genhashArgs = " -s SERVER -p PORT -u URL"

// setupGenhash is `lvs-ha genhash [-S] -s SERVER -p PORT -u URL [-V VHOST]
// [-I | --sni NAME] [-P PROTOCOL] [-t SECONDS] [-v]`, keepalived's genhash: it
// fetches URL and prints the MD5 digest of the body, which HTTP_GET/SSL_GET's
// `digest` expects. The output is genhash 2.2.7's: the digest alone on a line
// (with -v, genhash's "HTML hash final resulting" section and the response
// time).
func setupGenhash(e *env, fs *flag.FlagSet) func([]string) int {
	var o struct {
		ssl, useSNI, verbose bool
		server, url, vhost   string
		sni, proto           string
		port                 uint
		timeout              float64
		fwmark               uint
	}
	both := func(long, short string, f func(name string)) { f(long); f(short) }
	both("use-ssl", "S", func(n string) { fs.BoolVar(&o.ssl, n, false, "use SSL (TLS, certificate not verified)") })
	both("use-sni", "I", func(n string) {
		fs.BoolVar(&o.useSNI, n, false, "send the virtual host (-V) as TLS server name (SNI)")
	})
	both("server", "s", func(n string) { fs.StringVar(&o.server, n, "", "server address (`IP` or name)") })
	both("port", "p", func(n string) { fs.UintVar(&o.port, n, 0, "server `port` (default 80, or 443 with -S)") })
	both("url", "u", func(n string) { fs.StringVar(&o.url, n, "", "`path` to fetch, e.g. /index.html") })
	both("use-virtualhost", "V", func(n string) { fs.StringVar(&o.vhost, n, "", "Host header `name` (default the server address)") })
	fs.StringVar(&o.sni, "sni", "", "TLS server `name` to send (SNI), independent of -V")
	both("protocol", "P", func(n string) {
		fs.StringVar(&o.proto, n, "1.0", "HTTP `version`: 1.0, 1.0c (1.0 with Connection: close) or 1.1")
	})
	both("timeout", "t", func(n string) { fs.Float64Var(&o.timeout, n, 5, "connection timeout in `seconds`") })
	both("verbose", "v", func(n string) { fs.BoolVar(&o.verbose, n, false, "also print the status code and the response time") })
	both("fwmark", "m", func(n string) { fs.UintVar(&o.fwmark, n, 0, "firewall `mark` (not supported)") })
	return func(args []string) int {
		fail := func(code int, format string, a ...any) int {
			fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
			if code == ExitUsage {
				fs.Usage()
			}
			return code
		}
		switch {
		case len(args) > 0:
			return fail(ExitUsage, "unexpected argument %q", args[0])
		case o.server == "":
			return fail(ExitUsage, "no server (-s)")
		case o.url == "":
			return fail(ExitUsage, "no url (-u)")
		case o.port > 65535:
			return fail(ExitUsage, "port %d: out of range", o.port)
		case o.timeout <= 0:
			return fail(ExitUsage, "timeout %v: must be positive", o.timeout)
		case o.fwmark != 0:
			return fail(ExitUsage, "-m/--fwmark is not supported")
		}
		proto := o.proto
		if strings.EqualFold(proto, "1.0c") {
			proto = healthcheck.HTTP10Close
		}
		timeout := time.Duration(o.timeout * float64(time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 2*timeout+time.Second)
		defer cancel()
		addr, err := netip.ParseAddr(o.server)
		if err != nil {
			ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", o.server)
			if lerr != nil || len(ips) == 0 {
				return fail(ExitUsage, "server %q: not an address and not resolvable: %v", o.server, lerr)
			}
			addr = ips[0]
		}
		sni := o.sni
		if sni == "" && o.useSNI {
			sni = o.vhost
		}
		start := time.Now()
		digest, status, err := healthcheck.Genhash(ctx, o.url, healthcheck.GenhashOptions{
			Server: addr.Unmap(), Port: uint16(o.port), SSL: o.ssl, SNI: sni,
			VirtualHost: o.vhost, Protocol: proto, Timeout: timeout,
		})
		if err != nil {
			return fail(ExitFailure, "%v", err)
		}
		if !o.verbose {
			fmt.Fprintln(e.stdout, digest)
			return ExitOK
		}
		fmt.Fprintf(e.stdout, "HTTP status: %d\n", status)
		fmt.Fprintln(e.stdout, "-----------------------[ HTML hash final resulting ]-----------------------")
		fmt.Fprintln(e.stdout, digest)
		fmt.Fprintf(e.stdout, "\nGlobal response time for [%s] = %d usecs\n", o.url, time.Since(start).Microseconds())
		return ExitOK
	}
}
