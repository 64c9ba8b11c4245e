package domain

import (
	"fmt"
	"strings"
	"time"
)

// Role is what a person may do in opsbot. Roles are ordered: each one may do
// everything the roles below it may.
type Role int

// The roles, lowest first. A customer is anyone who is not staff.
const (
	RoleCustomer Role = iota
	RoleAgent
	RoleManager
	RoleAdmin
)

var roleNames = [...]string{"customer", "agent", "manager", "admin"}

// String returns the role's lower-case name.
func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// IsStaff reports whether r is one of the staff roles.
func (r Role) IsStaff() bool { return r >= RoleAgent }

// Allows reports whether a person with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r >= need }

// ParseRole parses a role name as stored and typed by admins.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Role(i), nil
		}
	}
	return 0, Invalidf("unknown role %q (want agent, manager or admin)", s)
}

// Platform names where a person or a message lives.
type Platform string

// The platforms opsbot speaks on.
const (
	PlatformSlack    Platform = "slack"
	PlatformWeChat   Platform = "wechat"
	PlatformTerminal Platform = "terminal"
)

// Staff is a member of the shop's team with a role in opsbot. Staff are
// identified by their Slack user ID (or a terminal name when trying opsbot).
type Staff struct {
	UserID  string
	Name    string
	Role    Role
	AddedBy string
	AddedAt time.Time
}
