package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// StaffStore keeps the staff list.
type StaffStore interface {
	ListStaff(ctx context.Context) ([]domain.Staff, error)
	PutStaff(ctx context.Context, s domain.Staff) error
	RemoveStaff(ctx context.Context, userID string) error
}

// StaffCommands returns `staff list`, `staff add` and `staff remove`.
func StaffCommands(st StaffStore) []*bot.Command {
	return []*bot.Command{
		{
			Name:        "staff list",
			Usage:       "staff list",
			Description: "Show who is staff, and their roles.",
			Examples:    []string{"staff list"},
			Role:        domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				all, err := st.ListStaff(ctx)
				if err != nil {
					return bot.Reply{}, err
				}
				rep := bot.Reply{Content: domain.Content{Title: fmt.Sprintf("Staff (%d)", len(all))}}
				for _, s := range all {
					rep.List = append(rep.List, fmt.Sprintf("%s — %s", mention(req.Platform, s.UserID), s.Role))
				}
				if len(all) == 0 {
					rep.Text = "Nobody yet. Admins add people with `staff add <user> <role>`."
				}
				return rep, nil
			},
		},
		{
			Name:        "staff add",
			Usage:       "staff add <user> <agent|manager|admin>",
			Description: "Make someone staff, or change their role.",
			Examples:    []string{"staff add U024BE7LH agent", "staff add <@U024BE7LH> manager"},
			Role:        domain.RoleAdmin,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				if len(req.Args) != 2 {
					return bot.Reply{}, bot.Usagef("Say who and which role.")
				}
				user := UserID(req.Args[0])
				role, err := domain.ParseRole(req.Args[1])
				if err != nil || !role.IsStaff() {
					return bot.Reply{}, bot.Usagef("The role must be agent, manager or admin.")
				}
				if user == "" {
					return bot.Reply{}, bot.Usagef("That is not a user.")
				}
				if err := st.PutStaff(ctx, domain.Staff{UserID: user, Role: role, AddedBy: req.UserID}); err != nil {
					return bot.Reply{}, err
				}
				return bot.Text(fmt.Sprintf("%s is now %s.", mention(req.Platform, user), withArticle(role))), nil
			},
		},
		{
			Name:        "staff remove",
			Usage:       "staff remove <user>",
			Description: "Take someone off the staff list.",
			Examples:    []string{"staff remove U024BE7LH"},
			Role:        domain.RoleAdmin,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				if len(req.Args) != 1 {
					return bot.Reply{}, bot.Usagef("Say who.")
				}
				user := UserID(req.Args[0])
				if user == req.UserID {
					return bot.Reply{}, bot.Errorf("You cannot remove yourself; ask another admin.")
				}
				err := st.RemoveStaff(ctx, user)
				if errors.Is(err, domain.ErrNotFound) {
					return bot.Text(fmt.Sprintf("%s was not staff.", mention(req.Platform, user))), nil
				}
				if err != nil {
					return bot.Reply{}, err
				}
				return bot.Text(fmt.Sprintf("%s is no longer staff.", mention(req.Platform, user))), nil
			},
		},
	}
}

// UserID accepts a Slack mention (<@U123|name>) or a bare ID.
func UserID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">") {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<@"), ">")
		if i := strings.IndexByte(s, '|'); i >= 0 {
			s = s[:i]
		}
	}
	return strings.TrimPrefix(s, "@")
}

// mention shows a user the way their platform links people.
func mention(p domain.Platform, userID string) string {
	if p == domain.PlatformSlack {
		return domain.MarkUser(userID, "")
	}
	return userID
}

func withArticle(r domain.Role) string {
	if r == domain.RoleAdmin || r == domain.RoleAgent {
		return "an " + r.String()
	}
	return "a " + r.String()
}
