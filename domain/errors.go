package domain

import (
	"errors"
	"fmt"
)

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

// RuleError is a broken rule with a message for the person who broke it:
// "TS-20261122-0001 is resolved; reopen it first". It matches its kind
// (ErrInvalid, ErrConflict, ErrNotFound) with errors.Is, and its Error is
// the message alone, so nobody trims prefixes.
type RuleError struct {
	Kind error
	Msg  string
}

func (e *RuleError) Error() string { return e.Msg }

// Unwrap returns the kind, for errors.Is.
func (e *RuleError) Unwrap() error { return e.Kind }

// Invalidf returns a RuleError of kind ErrInvalid.
func Invalidf(format string, args ...any) error {
	return &RuleError{Kind: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

// Conflictf returns a RuleError of kind ErrConflict.
func Conflictf(format string, args ...any) error {
	return &RuleError{Kind: ErrConflict, Msg: fmt.Sprintf(format, args...)}
}
