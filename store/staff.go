package store

import (
	"context"
	"time"

	"github.com/opsbot/opsbot/domain"
)

type staffRow struct {
	UserID  string    `db:"user_id"`
	Name    string    `db:"name"`
	Role    string    `db:"role"`
	AddedBy string    `db:"added_by"`
	AddedAt time.Time `db:"added_at"`
}

func (r staffRow) domain() domain.Staff {
	role, _ := domain.ParseRole(r.Role)
	return domain.Staff{UserID: r.UserID, Name: r.Name, Role: role, AddedBy: r.AddedBy, AddedAt: r.AddedAt}
}

// StaffRole returns a user's role; anyone not on the staff list is a customer.
func (db *DB) StaffRole(ctx context.Context, userID string) (domain.Role, error) {
	const q = `SELECT role FROM staff WHERE user_id = $1`
	var role string
	err := db.x.GetContext(ctx, &role, q, userID)
	if err != nil {
		if mapErr(err) == domain.ErrNotFound {
			return domain.RoleCustomer, nil
		}
		return 0, wrap("staff role", err)
	}
	return domain.ParseRole(role)
}

// GetStaff returns one staff member.
func (db *DB) GetStaff(ctx context.Context, userID string) (domain.Staff, error) {
	const q = `SELECT user_id, name, role, added_by, added_at FROM staff WHERE user_id = $1`
	var r staffRow
	if err := db.x.GetContext(ctx, &r, q, userID); err != nil {
		return domain.Staff{}, wrap("get staff", err)
	}
	return r.domain(), nil
}

// ListStaff returns every staff member, admins first.
func (db *DB) ListStaff(ctx context.Context) ([]domain.Staff, error) {
	const q = `SELECT user_id, name, role, added_by, added_at FROM staff
		ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END, user_id`
	var rows []staffRow
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("list staff", err)
	}
	out := make([]domain.Staff, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// PutStaff adds a staff member or changes their role.
func (db *DB) PutStaff(ctx context.Context, s domain.Staff) error {
	const q = `INSERT INTO staff (user_id, name, role, added_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role,
			name = CASE WHEN EXCLUDED.name = '' THEN staff.name ELSE EXCLUDED.name END`
	_, err := db.x.ExecContext(ctx, q, s.UserID, s.Name, s.Role.String(), s.AddedBy)
	return wrap("put staff", err)
}

// EnsureAdmins makes each listed user an admin, leaving other rows alone.
// It bootstraps admins from OPSBOT_ADMINS at start.
func (db *DB) EnsureAdmins(ctx context.Context, userIDs []string) error {
	const q = `INSERT INTO staff (user_id, role, added_by) VALUES ($1, 'admin', 'OPSBOT_ADMINS')
		ON CONFLICT (user_id) DO UPDATE SET role = 'admin'`
	for _, id := range userIDs {
		if _, err := db.x.ExecContext(ctx, q, id); err != nil {
			return wrap("ensure admin", err)
		}
	}
	return nil
}

// RemoveStaff removes a staff member; ErrNotFound when there was none.
func (db *DB) RemoveStaff(ctx context.Context, userID string) error {
	const q = `DELETE FROM staff WHERE user_id = $1`
	res, err := db.x.ExecContext(ctx, q, userID)
	if err != nil {
		return wrap("remove staff", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	return nil
}
