package ipvs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KernelSync reads the running sync daemons and the connection origins of
// one network namespace, from the kernel alone (whatever started the
// daemons: lvs-ha, keepalived or ipvsadm). Every read opens a netlink handle
// and closes it, so a KernelSync holds nothing; while ip_vs is not loaded
// (ProcNet has no ip_vs_conn_sync) it opens nothing and fails with
// ErrNoConnSync, so a scrape never loads the module. The zero value reads
// the process's namespace.
type KernelSync struct {
	// ProcNet is the namespace's /proc/net directory; "" means /proc/net.
	ProcNet string
	// NetNS, if set, is the namespace file netlink is opened in
	// (NewNetlinkAt); "" means the process's namespace.
	NetNS string
}

// SyncDaemons lists the running sync daemons.
func (k KernelSync) SyncDaemons() ([]SyncDaemon, error) {
	procNet := k.ProcNet
	if procNet == "" {
		procNet = "/proc/net"
	}
	if _, err := os.Stat(filepath.Join(procNet, ConnSyncFile)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNoConnSync
		}
		return nil, fmt.Errorf("ipvs: %w", err)
	}
	var n *Netlink
	var err error
	if k.NetNS != "" {
		n, err = NewNetlinkAt(k.NetNS)
	} else {
		n, err = NewNetlink()
	}
	if err != nil {
		return nil, err
	}
	defer n.Close()
	return n.SyncDaemons()
}

// SyncConnections reads the connection table with origins (ip_vs_conn_sync).
func (k KernelSync) SyncConnections() ([]SyncConnection, error) {
	return ReadSyncConnections(k.ProcNet)
}
