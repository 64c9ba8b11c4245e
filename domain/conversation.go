package domain

import "time"

// PendingQuestion is a question opsbot asked someone and is waiting for an
// answer to (a customer's complaint details). It expires.
type PendingQuestion struct {
	Platform  Platform
	UserID    string
	Topic     string
	Data      string
	ExpiresAt time.Time
}
