package vrrp

import (
	"fmt"
	"time"
)

// SyncGroup makes its member machines change state together, like a
// keepalived vrrp_sync_group:
//
//   - a member entering Fault forces the others into Fault, and they stay
//     there until no member has a fault of its own any more;
//   - a member only becomes Master when every other member wants to be master
//     too (its own master down timer expired, or it is already master);
//     meanwhile it stays Backup and re-arms its timer. Once one member
//     becomes Master the others follow;
//   - a Master member stepping down to Backup takes the other masters with it
//     (without sending priority 0).
//
// Members must then be stepped only through SyncGroup.Step (or Tick).
type SyncGroup struct {
	name    string
	members []*Machine
}

// GroupAction is an action of one member of a sync group.
type GroupAction struct {
	Member *Machine
	Action Action
}

// NewSyncGroup groups machines that are still in Initialize and in no
// other group.
func NewSyncGroup(name string, members ...*Machine) (*SyncGroup, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("vrrp: sync group %s has no members", name)
	}
	g := &SyncGroup{name: name}
	for _, m := range members {
		switch {
		case m == nil:
			return nil, fmt.Errorf("vrrp: sync group %s: nil member", name)
		case m.group != nil:
			return nil, fmt.Errorf("vrrp: sync group %s: instance %s is already in sync group %s", name, m.o.Name, m.group.name)
		case m.state != StateInitialize:
			return nil, fmt.Errorf("vrrp: sync group %s: instance %s already started", name, m.o.Name)
		}
		for _, o := range g.members {
			if o == m {
				return nil, fmt.Errorf("vrrp: sync group %s: instance %s listed twice", name, m.o.Name)
			}
		}
		g.members = append(g.members, m)
	}
	for _, m := range g.members {
		m.group = g
	}
	return g, nil
}

// Name returns the group's name.
func (g *SyncGroup) Name() string { return g.name }

// Members returns the member machines in the order given.
func (g *SyncGroup) Members() []*Machine { return append([]*Machine(nil), g.members...) }

// State summarizes the group: Fault if any member is, Master if all are,
// Initialize if all are, Backup otherwise.
func (g *SyncGroup) State() State {
	master, init := 0, 0
	for _, m := range g.members {
		switch m.state {
		case StateFault:
			return StateFault
		case StateMaster:
			master++
		case StateInitialize:
			init++
		}
	}
	switch len(g.members) {
	case master:
		return StateMaster
	case init:
		return StateInitialize
	}
	return StateBackup
}

// NextDeadline is the earliest deadline of the members (zero if none).
func (g *SyncGroup) NextDeadline() time.Time {
	var e time.Time
	for _, m := range g.members {
		e = earliest(e, m.NextDeadline())
	}
	return e
}

// Tick steps Tick into every member whose deadline has been reached.
func (g *SyncGroup) Tick(now time.Time) []GroupAction {
	var out []GroupAction
	for _, m := range g.members {
		if due(m.NextDeadline(), now) {
			out = append(out, g.Step(now, m, Tick{})...)
		}
	}
	return out
}

// Step steps ev into member m, then makes the other members follow m's
// state change. It returns nothing if m is not a member.
func (g *SyncGroup) Step(now time.Time, m *Machine, ev Event) []GroupAction {
	if m == nil || m.group != g {
		return nil
	}
	before := m.state
	out := tag(m, m.Step(now, ev))
	if m.state != before {
		out = append(out, g.follow(now, m, before)...)
	}
	return out
}

func tag(m *Machine, acts []Action) []GroupAction {
	out := make([]GroupAction, 0, len(acts))
	for _, a := range acts {
		out = append(out, GroupAction{Member: m, Action: a})
	}
	return out
}

type change struct {
	m      *Machine
	before State
}

// follow propagates a member's state change to the others, and the changes
// that causes, until nothing moves.
func (g *SyncGroup) follow(now time.Time, src *Machine, before State) []GroupAction {
	var out []GroupAction
	queue := []change{{src, before}}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		reason := fmt.Sprintf("sync group %s: %s is %v", g.name, c.m.o.Name, c.m.state)
		for _, o := range g.members {
			if o == c.m {
				continue
			}
			ob := o.state
			o.out = nil
			switch {
			case c.m.state == StateMaster && o.state == StateBackup:
				o.becomeMaster(now, reason)
			case c.m.state == StateBackup && c.before == StateMaster && o.state == StateMaster:
				o.enterBackup(now, o.MasterDownInterval(), reason)
			case c.m.state == StateFault && (o.state == StateBackup || o.state == StateMaster):
				o.enterFault(reason)
			case c.m.state != StateFault && o.state == StateFault && !o.faulty():
				o.leaveFault(now, reason)
			}
			out = append(out, tag(o, o.out)...)
			o.out = nil
			if o.state != ob {
				queue = append(queue, change{o, ob})
			}
		}
	}
	return out
}

// canGotoMaster: the group is already master, or every other member wants
// to be master (keepalived vrrp_sync_can_goto_master).
func (g *SyncGroup) canGotoMaster(m *Machine) bool {
	for _, o := range g.members {
		if o != m && o.state == StateMaster {
			return true
		}
	}
	for _, o := range g.members {
		if o != m && o.want != StateMaster {
			return false
		}
	}
	return true
}

// otherFault: another member has a fault of its own.
func (g *SyncGroup) otherFault(m *Machine) bool {
	for _, o := range g.members {
		if o != m && o.Fault() {
			return true
		}
	}
	return false
}

func (g *SyncGroup) faultReason(m *Machine) string {
	for _, o := range g.members {
		if o != m && o.Fault() {
			return fmt.Sprintf("sync group %s: %s is FAULT", g.name, o.o.Name)
		}
	}
	return "sync group " + g.name
}
