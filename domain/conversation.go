package domain

import "time"

// PendingQuestion is a question opsbot asked someone and is waiting for an
// answer to (a customer's complaint details, a survey score). It belongs
// to the feature that asked (Topic, such as "complaint.details"); a
// person has at most one per topic. It expires.
type PendingQuestion struct {
	Platform  Platform
	UserID    string
	Topic     string
	Data      string
	ExpiresAt time.Time
	// AskedAt is when it was asked; the newest question is what a bare
	// answer answers.
	AskedAt time.Time
}
