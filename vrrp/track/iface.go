package track

import (
	"errors"
	"fmt"
)

// InterfaceConfig is one track_interface entry.
type InterfaceConfig struct {
	Name    string
	Weight  int // -253..253; 0: down means FAULT
	Reverse bool
}

// LinkEvent is the state of one link as reported by rtnetlink.
type LinkEvent struct {
	Index   int
	Name    string
	Up      bool // IFF_UP and IFF_RUNNING (keepalived's IF_FLAGS_UP)
	Deleted bool // RTM_DELLINK
}

// InterfaceTracker follows one tracked interface by name. It is OK while a link of
// that name exists and is up (administratively up and running, i.e. carrier/oper
// up; loopback-like devices with operstate UNKNOWN count as up, as in keepalived),
// and failed while it is down, deleted, renamed away or absent from the last dump.
type InterfaceTracker struct {
	cfg   InterfaceConfig
	index int // ifindex currently carrying cfg.Name, 0 if none
	state State
}

// NewInterfaceTracker returns a tracker in StateInit (until the first Sync or Apply).
func NewInterfaceTracker(cfg InterfaceConfig) (*InterfaceTracker, error) {
	if cfg.Name == "" {
		return nil, errors.New("track_interface: empty interface name")
	}
	if len(cfg.Name) > 15 {
		return nil, fmt.Errorf("track_interface %q: name longer than 15 bytes", cfg.Name)
	}
	if err := checkWeight("track_interface", cfg.Name, cfg.Weight); err != nil {
		return nil, err
	}
	return &InterfaceTracker{cfg: cfg}, nil
}

// Config returns the configuration.
func (t *InterfaceTracker) Config() InterfaceConfig { return t.cfg }

// Index is the ifindex currently carrying the tracked name, 0 if none is known.
func (t *InterfaceTracker) Index() int { return t.index }

// Apply updates the tracker from one link notification and reports whether State
// changed. Events for other links are ignored, except that the link we were following
// changing its name means our interface is gone.
func (t *InterfaceTracker) Apply(ev LinkEvent) (changed bool) {
	before := t.state
	switch {
	case ev.Name == t.cfg.Name && ev.Deleted:
		if t.index == 0 || ev.Index == t.index {
			t.index, t.state = 0, StateFail
		}
	case ev.Name == t.cfg.Name:
		t.index = ev.Index
		t.state = upState(ev.Up)
	case t.index != 0 && ev.Index == t.index:
		// Renamed away (or deleted under a new name).
		t.index, t.state = 0, StateFail
	}
	return t.state != before
}

// Sync updates the tracker from a full dump of the links and reports whether State
// changed. A name missing from the dump is failed.
func (t *InterfaceTracker) Sync(links []LinkEvent) (changed bool) {
	before := t.state
	t.index, t.state = 0, StateFail
	for _, ev := range links {
		if ev.Name == t.cfg.Name && !ev.Deleted {
			t.index, t.state = ev.Index, upState(ev.Up)
			break
		}
	}
	return t.state != before
}

// State is the current verdict.
func (t *InterfaceTracker) State() State { return t.state }

// Status returns a snapshot.
func (t *InterfaceTracker) Status() Status {
	return Status{Kind: KindInterface, Name: t.cfg.Name, State: t.state, Weight: t.cfg.Weight, Reverse: t.cfg.Reverse}
}

func upState(up bool) State {
	if up {
		return StateOK
	}
	return StateFail
}
