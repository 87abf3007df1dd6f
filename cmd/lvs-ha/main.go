// Command lvs-ha is a director for Linux Virtual Server: VRRP, IPVS and health checks,
// configured with keepalived.conf syntax. main only wires; the commands live in
// internal/cli.
package main

import (
	"os"

	"github.com/lvs-ha/lvs-ha/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr))
}
