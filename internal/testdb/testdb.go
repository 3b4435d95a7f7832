// Package testdb gives tests a fresh, migrated Postgres database of their
// own, dropped when the test ends. Set RELUTUNE_SKIP_INTEGRATION=1 to skip
// tests that need it on a machine without Postgres.
package testdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
)

// New creates a database, migrates it, and returns a store on it and its URL.
func New(t testing.TB) (*store.Store, string) {
	t.Helper()
	st, url := Empty(t)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, url
}

// Empty creates a database without migrating it, and returns a store on it
// and its URL.
func Empty(t testing.TB) (*store.Store, string) {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no Postgres")
	}
	base := process.Env(process.EnvDatabaseURL, process.DefaultDatabaseURL)
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
		// From the server's maintenance database: the base URL's database
		// need not exist.
		admin := cfg.Copy()
		admin.Database = "postgres"
		if conn, err := pgx.ConnectConfig(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	return st, url
}

// ReaderURL returns the URL that logs in to the test database at dbURL as
// the reader role: RELUTUNE_READER_URL with its database replaced when that
// is set (for a reader with a password), else dbURL's server as the role.
func ReaderURL(t testing.TB, dbURL string) string {
	t.Helper()
	db, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if env := os.Getenv(process.EnvReaderURL); env != "" {
		u, err := url.Parse(env)
		if err != nil {
			t.Fatalf("%s: %v", process.EnvReaderURL, err)
		}
		u.Path = "/" + db.Database
		return u.String()
	}
	u, err := process.ReaderURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
