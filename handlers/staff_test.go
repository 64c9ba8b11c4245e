package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// staffRouter is a router with the staff commands on a fresh database
// whose only admin, UADMIN, was bootstrapped as OPSBOT_ADMINS does.
func staffRouter(t *testing.T) (*bot.Router, *store.DB) {
	t.Helper()
	db := storetest.New(t)
	if err := db.EnsureAdmins(context.Background(), []string{"UADMIN"}); err != nil {
		t.Fatal(err)
	}
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.Register(handlers.StaffCommands(db)...)
	return r, db
}

func say(r *bot.Router, p domain.Platform, user, text string) string {
	rep := r.Handle(context.Background(), bot.Message{Platform: p, UserID: user, Text: text})
	return bot.PlainText(rep.Content)
}

func role(t *testing.T, db *store.DB, user string) domain.Role {
	t.Helper()
	r, err := db.StaffRole(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStaffCommands(t *testing.T) {
	t.Parallel()
	r, db := staffRouter(t)
	slack := domain.PlatformSlack

	out := say(r, slack, "UADMIN", "staff add <@U123|ann> agent")
	if out != "@U123 is now an agent." || role(t, db, "U123") != domain.RoleAgent {
		t.Fatalf("add by mention: %q, role %v", out, role(t, db, "U123"))
	}
	if out := say(r, slack, "UADMIN", "staff add U456 MANAGER"); out != "@U456 is now a manager." {
		t.Errorf("add by ID: %q", out)
	}
	if out := say(r, slack, "UADMIN", "staff add <@U123> admin"); out != "@U123 is now an admin." || role(t, db, "U123") != domain.RoleAdmin {
		t.Errorf("promote: %q", out)
	}
	if s, _ := db.GetStaff(context.Background(), "U456"); s.AddedBy != "UADMIN" {
		t.Errorf("added_by = %q", s.AddedBy)
	}

	out = say(r, slack, "U456", "staff list")
	for _, want := range []string{"Staff (3)", "@UADMIN — admin", "@U123 — admin", "@U456 — manager"} {
		if !strings.Contains(out, want) {
			t.Errorf("staff list lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "U456") < strings.Index(out, "UADMIN") {
		t.Errorf("admins are not listed first:\n%s", out)
	}
	// In the terminal, IDs are shown bare.
	if out := say(r, domain.PlatformTerminal, "U456", "staff list"); !strings.Contains(out, "U456 — manager") {
		t.Errorf("terminal staff list:\n%s", out)
	}

	if out := say(r, slack, "UADMIN", "staff remove <@U456>"); out != "@U456 is no longer staff." || role(t, db, "U456") != domain.RoleCustomer {
		t.Errorf("remove: %q", out)
	}
	if out := say(r, slack, "UADMIN", "staff remove U456"); out != "@U456 was not staff." {
		t.Errorf("remove twice: %q", out)
	}
	if out := say(r, slack, "UADMIN", "staff remove UADMIN"); !strings.Contains(out, "cannot remove yourself") || role(t, db, "UADMIN") != domain.RoleAdmin {
		t.Errorf("remove self: %q", out)
	}
}

func TestStaffCommandsAreAdminOnly(t *testing.T) {
	t.Parallel()
	r, db := staffRouter(t)
	slack := domain.PlatformSlack
	say(r, slack, "UADMIN", "staff add UAG agent")
	say(r, slack, "UADMIN", "staff add UMG manager")

	for _, user := range []string{"UAG", "UMG"} {
		if out := say(r, slack, user, "staff add UX admin"); !strings.Contains(out, "needs the admin role") {
			t.Errorf("%s adds staff: %q", user, out)
		}
		if out := say(r, slack, user, "staff remove UADMIN"); !strings.Contains(out, "needs the admin role") {
			t.Errorf("%s removes staff: %q", user, out)
		}
	}
	if role(t, db, "UX") != domain.RoleCustomer || role(t, db, "UADMIN") != domain.RoleAdmin {
		t.Error("a non-admin changed the staff list")
	}
	// Strangers are refused politely, and nothing happens.
	if out := say(r, slack, "USTRANGER", "staff add USTRANGER admin"); !strings.Contains(out, "not on the staff list") {
		t.Errorf("stranger: %q", out)
	}
	if role(t, db, "USTRANGER") != domain.RoleCustomer {
		t.Error("a stranger made themselves staff")
	}
	// Agents may look.
	if out := say(r, slack, "UAG", "staff list"); !strings.Contains(out, "Staff (3)") {
		t.Errorf("agent staff list: %q", out)
	}
	// Help shows agents only what they may run.
	out := say(r, slack, "UAG", "help")
	if !strings.Contains(out, "staff list") || strings.Contains(out, "staff add") {
		t.Errorf("agent help:\n%s", out)
	}
	if out := say(r, slack, "UADMIN", "help"); !strings.Contains(out, "staff add <user> <agent|manager|admin>") {
		t.Errorf("admin help:\n%s", out)
	}
}

func TestStaffCommandUsage(t *testing.T) {
	t.Parallel()
	r, db := staffRouter(t)
	cases := map[string]string{
		"staff add":             "Usage: `staff add <user> <agent|manager|admin>`",
		"staff add U1":          "Say who and which role.",
		"staff add U1 boss":     "The role must be agent, manager or admin.",
		"staff add U1 customer": "The role must be agent, manager or admin.",
		"staff add <@> agent":   "That is not a user.",
		"staff remove":          "Usage: `staff remove <user>`",
		"staf lst":              "Did you mean `staff list`?",
	}
	for in, want := range cases {
		if out := say(r, domain.PlatformSlack, "UADMIN", in); !strings.Contains(out, want) {
			t.Errorf("%q = %q, want %q", in, out, want)
		}
	}
	if all, _ := db.ListStaff(context.Background()); len(all) != 1 {
		t.Errorf("bad commands changed the staff list: %+v", all)
	}
	if out := say(r, domain.PlatformSlack, "UADMIN", "help staff add"); !strings.Contains(out, "staff add <@U024BE7LH> manager") {
		t.Errorf("help staff add:\n%s", out)
	}
}

func TestUserID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"U123": "U123", "<@U123>": "U123", "<@U123|ann>": "U123", "@alice": "alice", " U1 ": "U1", "<@>": "",
	} {
		if got := handlers.UserID(in); got != want {
			t.Errorf("UserID(%q) = %q, want %q", in, got, want)
		}
	}
}
