package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestStaff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)

	if r, err := db.StaffRole(ctx, "U1"); err != nil || r != domain.RoleCustomer {
		t.Fatalf("StaffRole(stranger) = %v, %v; want customer", r, err)
	}
	if err := db.PutStaff(ctx, domain.Staff{UserID: "U1", Name: "Ann", Role: domain.RoleAgent, AddedBy: "U0"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutStaff(ctx, domain.Staff{UserID: "U2", Role: domain.RoleManager}); err != nil {
		t.Fatal(err)
	}
	// Changing a role keeps the name when none is given.
	if err := db.PutStaff(ctx, domain.Staff{UserID: "U1", Role: domain.RoleManager}); err != nil {
		t.Fatal(err)
	}
	s, err := db.GetStaff(ctx, "U1")
	if err != nil || s.Role != domain.RoleManager || s.Name != "Ann" || s.AddedBy != "U0" || s.AddedAt.IsZero() {
		t.Fatalf("GetStaff = %+v, %v", s, err)
	}
	if _, err := db.GetStaff(ctx, "U9"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetStaff(unknown) = %v", err)
	}

	// OPSBOT_ADMINS: new admins appear, existing staff are promoted, others untouched.
	if err := db.EnsureAdmins(ctx, []string{"UA", "U2"}); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureAdmins(ctx, []string{"UA"}); err != nil {
		t.Fatal(err)
	}
	all, err := db.ListStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id   string
		role domain.Role
	}{{"U2", domain.RoleAdmin}, {"UA", domain.RoleAdmin}, {"U1", domain.RoleManager}}
	if len(all) != len(want) {
		t.Fatalf("ListStaff = %+v", all)
	}
	for i, w := range want {
		if all[i].UserID != w.id || all[i].Role != w.role {
			t.Errorf("staff[%d] = %s %s, want %s %s", i, all[i].UserID, all[i].Role, w.id, w.role)
		}
	}

	if err := db.RemoveStaff(ctx, "U1"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveStaff(ctx, "U1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RemoveStaff twice = %v, want ErrNotFound", err)
	}
	if r, _ := db.StaffRole(ctx, "U1"); r != domain.RoleCustomer {
		t.Errorf("removed staff has role %v", r)
	}
}
