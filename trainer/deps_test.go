package trainer

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServiceImports enforces that the trainer stays free of Temporal,
// NATS, pgx and cobra, directly or through its dependencies.
func TestNoServiceImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"go.temporal.io/", "github.com/nats-io/", "github.com/jackc/pgx", "github.com/spf13/cobra"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("trainer depends on %s", dep)
			}
		}
	}
}
