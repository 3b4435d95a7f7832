// Package testdb gives tests a fresh, migrated Postgres database of their
// own, dropped when the test ends. Set RELUTUNE_SKIP_INTEGRATION=1 to skip
// tests that need it on a machine without Postgres.
package testdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/config"
	"github.com/relutune/relutune/internal/store"
)

// New creates a database, migrates it, and returns a store on it and its URL.
func New(t testing.TB) (*store.Store, string) {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no Postgres")
	}
	base := config.Env(config.EnvDatabaseURL, config.DefaultDatabaseURL)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("relutune_t_%d_%d", os.Getpid(), rand.IntN(1_000_000))
	url := strings.Replace(base, "/"+cfg.Database+"?", "/"+name+"?", 1)
	if url == base {
		t.Fatalf("cannot derive a test database URL from %s", base)
	}
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st, url
}
