// Package clitest holds helpers the tunectl command tests share.
package clitest

import (
	"os"
	"testing"
)

// Golden compares got with the golden file at path, after rewriting the
// file with got when update is set (each test package's -update flag).
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
