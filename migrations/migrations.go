// Package migrations embeds the SQL that builds relutune's Postgres schema.
// Files are applied in name order, each once, by the controller at start
// (see internal/store.Migrate).
package migrations

import "embed"

// FS holds the migration files, named NNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
