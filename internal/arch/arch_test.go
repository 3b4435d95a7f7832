// Package arch holds tests of the module's dependency rules.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestComputePackagesStayPure checks that kernels, trainer and search import
// nothing of Temporal, NATS, pgx or cobra (directly or indirectly).
func TestComputePackagesStayPure(t *testing.T) {
	forbidden := []string{"go.temporal.io/", "github.com/nats-io/", "github.com/jackc/pgx", "github.com/spf13/cobra"}
	for _, pkg := range []string{"kernels", "trainer", "search"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/relutune/relutune/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// TestWorkerNeverImportsPostgres checks that the worker binary cannot talk
// to Postgres: the database sees one writer per kind of row.
func TestWorkerNeverImportsPostgres(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/relutune/relutune/cmd/worker").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/jackc/pgx") {
			t.Errorf("cmd/worker depends on %s", dep)
		}
	}
}
