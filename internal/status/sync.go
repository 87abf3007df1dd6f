package status

import (
	"errors"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// ConnSync is the kernel's connection synchronisation state: the running
// sync daemons (whoever started them) and the connection entries by origin.
type ConnSync struct {
	Daemons []SyncDaemon `json:"daemons"`
	// Connections is absent when the connection table could not be read.
	Connections *ConnOrigins `json:"connections,omitempty"`
	// Error is set when the daemons or the connections could not be read.
	Error string `json:"error,omitempty"`
}

// SyncDaemon is one running sync daemon as the kernel reports it.
type SyncDaemon struct {
	State     string `json:"state"` // "master", "backup"
	Interface string `json:"interface"`
	SyncID    uint32 `json:"syncid"`
	MaxLen    uint16 `json:"maxlen,omitempty"`
	Group     string `json:"group,omitempty"`
	Port      uint16 `json:"port,omitempty"`
	TTL       uint8  `json:"ttl,omitempty"`
}

// ConnOrigins counts connection entries (persistence templates included) by
// origin: scheduled by this director (local) or received from a master sync
// daemon (sync).
type ConnOrigins struct {
	Local int `json:"local"`
	Sync  int `json:"sync"`
}

// connSync reads src; nil when there is no source or ip_vs is not loaded.
func connSync(src metrics.SyncSource) *ConnSync {
	if src == nil {
		return nil
	}
	out := &ConnSync{Daemons: []SyncDaemon{}}
	var errs []error
	ds, err := src.SyncDaemons()
	if err != nil {
		errs = append(errs, err)
	}
	for _, d := range ds {
		sd := SyncDaemon{State: d.State.String(), Interface: d.Interface, SyncID: d.SyncID,
			MaxLen: d.MaxLen, Port: d.McastPort, TTL: d.McastTTL}
		if d.McastGroup.IsValid() {
			sd.Group = d.McastGroup.String()
		}
		out.Daemons = append(out.Daemons, sd)
	}
	cs, err := src.SyncConnections()
	if err != nil {
		errs = append(errs, err)
	} else {
		out.Connections = &ConnOrigins{}
		for _, c := range cs {
			if c.Origin == ipvs.OriginSync {
				out.Connections.Sync++
			} else {
				out.Connections.Local++
			}
		}
	}
	if len(errs) == 2 && errors.Is(errs[0], ipvs.ErrNoConnSync) && errors.Is(errs[1], ipvs.ErrNoConnSync) {
		return nil // no ip_vs: nothing to show (ipvs_error says so when IPVS is managed)
	}
	if err := errors.Join(errs...); err != nil {
		out.Error = err.Error()
	}
	return out
}
