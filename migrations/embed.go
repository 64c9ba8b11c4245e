// Package migrations embeds opsbot's schema: goose SQL files, append-only.
// A released file is never edited; a change is a new file.
package migrations

import "embed"

// FS holds every migration file, applied in the order of their numbers.
//
//go:embed *.sql
var FS embed.FS
