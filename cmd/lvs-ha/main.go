// Command lvs-ha is a director for Linux Virtual Server: VRRP, IPVS and health checks,
// configured with keepalived.conf syntax. main only wires; the commands live in
// internal/cli. Invoked as `ipvsadm`, `ipvsadm-save` or `ipvsadm-restore` (a
// symlink), it is an ipvsadm-compatible tool or one of its companion scripts.
package main

import (
	"os"

	"github.com/lvs-ha/lvs-ha/internal/cli"
	"github.com/lvs-ha/lvs-ha/internal/ipvsadm"
)

func main() {
	if tool, ok := ipvsadm.Tool(os.Args[0]); ok {
		os.Exit(tool(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr))
}
