package cmdutil

import (
	"testing"

	"github.com/relutune/relutune/internal/process"
)

func TestReaderURLPrecedence(t *testing.T) {
	f := &Factory{Conn: process.Connections{DatabaseURL: "postgres://owner:pw@db:6432/results?sslmode=require"}}
	t.Setenv(process.EnvReaderURL, "")
	if got, err := f.ReaderURL(""); err != nil || got != "postgres://relutune_reader@db:6432/results?sslmode=require" {
		t.Errorf("derived: %q %v", got, err)
	}
	t.Setenv(process.EnvReaderURL, "postgres://analyst:secret@db/results")
	if got, err := f.ReaderURL(""); err != nil || got != "postgres://analyst:secret@db/results" {
		t.Errorf("env: %q %v", got, err)
	}
	if got, err := f.ReaderURL("postgres://flag@db/results"); err != nil || got != "postgres://flag@db/results" {
		t.Errorf("flag: %q %v", got, err)
	}
	t.Setenv(process.EnvReaderURL, "")
	f.Conn.DatabaseURL = "host=db user=owner"
	if _, err := f.ReaderURL(""); err == nil || ExitCode(err) != ExitUsage {
		t.Errorf("keyword=value database URL: %v; want a usage error", err)
	}
}
