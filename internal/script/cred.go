package script

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// DefaultUser is the user keepalived runs scripts as when script_user is not set and
// that user exists (otherwise scripts run as the daemon's own user).
const DefaultUser = "keepalived_script"

// CredentialError reports an unusable script user or group.
type CredentialError struct {
	User, Group string
	Err         error
}

func (e *CredentialError) Error() string {
	if e.Group != "" {
		return fmt.Sprintf("script user %q group %q: %v", e.User, e.Group, e.Err)
	}
	return fmt.Sprintf("script user %q: %v", e.User, e.Err)
}

func (e *CredentialError) Unwrap() error { return e.Err }

// LookupCredential resolves keepalived's "script_user NAME [GROUP]" into the
// credential a script runs with. The group defaults to the user's primary group. As in
// keepalived, supplementary groups are cleared unless GROUP starts with ':' (":" alone
// keeps the primary group, ":NAME" uses NAME), in which case the user's supplementary
// groups are set too.
//
// An empty name returns nil (run as the current user), and so does a name that
// resolves to the current non-root effective uid/gid, since an unprivileged process
// could not set it anyway. A user or group that does not exist is a *CredentialError
// naming it (wrapping user.UnknownUserError / user.UnknownGroupError).
func LookupCredential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" {
		if groupName != "" {
			return nil, &CredentialError{Group: groupName, Err: fmt.Errorf("group given without user")}
		}
		return nil, nil
	}
	cerr := func(err error) error { return &CredentialError{User: userName, Group: groupName, Err: err} }
	u, err := user.Lookup(userName)
	if err != nil {
		return nil, cerr(err)
	}
	uid, err := parseID(u.Uid)
	if err != nil {
		return nil, cerr(fmt.Errorf("uid %q: %w", u.Uid, err))
	}
	gid, err := parseID(u.Gid)
	if err != nil {
		return nil, cerr(fmt.Errorf("gid %q: %w", u.Gid, err))
	}
	supplementary := false
	grp := groupName
	if strings.HasPrefix(grp, ":") {
		supplementary = true
		grp = grp[1:]
	}
	if grp != "" {
		g, err := user.LookupGroup(grp)
		if err != nil {
			return nil, cerr(err)
		}
		if gid, err = parseID(g.Gid); err != nil {
			return nil, cerr(fmt.Errorf("gid %q: %w", g.Gid, err))
		}
	}
	cred := &syscall.Credential{Uid: uid, Gid: gid}
	if supplementary {
		ids, err := u.GroupIds()
		if err != nil {
			return nil, cerr(fmt.Errorf("supplementary groups: %w", err))
		}
		for _, s := range ids {
			id, err := parseID(s)
			if err != nil {
				return nil, cerr(fmt.Errorf("gid %q: %w", s, err))
			}
			cred.Groups = append(cred.Groups, id)
		}
	}
	// Running as the daemon's own user needs no switch. Returning no credential
	// also keeps root scripts working under a capability set without
	// CAP_SETUID/CAP_SETGID (deploy/lvs-ha.service), where setgroups fails.
	if uint32(os.Geteuid()) == uid && uint32(os.Getegid()) == gid && !supplementary {
		return nil, nil
	}
	return cred, nil
}

func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err
}
