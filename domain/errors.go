package domain

import "errors"

// Errors shared by every layer. Stores map driver errors onto them; handlers
// turn them into replies people can act on.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change collides with existing state (a duplicate).
	ErrConflict = errors.New("conflict")
	// ErrForbidden means the caller's role does not allow the action.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid means the input was malformed.
	ErrInvalid = errors.New("invalid input")
)
