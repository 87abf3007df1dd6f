// Command lvs-ha is a director for Linux Virtual Server: VRRP, IPVS and health checks,
// configured with keepalived.conf syntax. main only wires; the commands live in
// internal/cli. Invoked as `ipvsadm` (a symlink), it is an ipvsadm-compatible tool.
package main

import (
	"os"
	"path/filepath"

	"github.com/lvs-ha/lvs-ha/internal/cli"
	"github.com/lvs-ha/lvs-ha/internal/ipvsadm"
)

func main() {
	if filepath.Base(os.Args[0]) == "ipvsadm" {
		os.Exit(ipvsadm.Main(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr))
}
