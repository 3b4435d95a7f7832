// Package arch holds tests of the module's dependency rules; the rules
// themselves are described in docs/architecture.md.
package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/relutune/relutune/"

// layers ranks the module's packages, lowest first. A package may import
// only packages of a lower layer (or, inside a group marked shared, its own
// group): cmd -> internal/cli, internal/controller, internal/worker ->
// process, store, events (adapters) -> workflows -> spec -> search,
// trainer -> kernels. An entry ending in "/" is every package below that
// path.
var layers = []struct {
	rank     int
	pkgs     []string
	shareOwn bool // the group's packages may import each other
}{
	{0, []string{"internal/redact", "internal/stats", "internal/telemetry", "migrations"}, false},
	{1, []string{"kernels"}, false},
	{2, []string{"trainer", "search"}, false},
	{3, []string{"spec", "internal/importance"}, false},
	{4, []string{"workflows"}, false},
	{5, []string{"internal/events", "internal/ckptstore", "internal/schedsim"}, false},
	{6, []string{"internal/store", "internal/process"}, false},
	{7, []string{"internal/studyview", "internal/studyview/studytest"}, false},
	{8, []string{"internal/plotkit", "internal/dashboard"}, false},
	{9, []string{"internal/controller", "internal/worker"}, false},
	{9, []string{"internal/cli/"}, true},
	{10, []string{"cmd/"}, false},
}

// exempt packages are test and build support: they may import anything,
// and nothing but tests imports them.
var exempt = []string{"internal/arch", "internal/integration", "internal/testdb", "internal/natstest", "internal/telemetry/telemetrytest", "internal/hosts", "internal/dashboard/browsertest",
	"kernels/internal/", "deploy", "deploy/", "scripts/"}

func matches(entry, rel string) bool {
	if strings.HasSuffix(entry, "/") {
		return strings.HasPrefix(rel, entry)
	}
	return rel == entry
}

// layerOf returns the rank and group of rel (a path inside the module).
func layerOf(rel string) (rank, group int, shareOwn, ok bool) {
	for i, l := range layers {
		for _, p := range l.pkgs {
			if matches(p, rel) {
				return l.rank, i, l.shareOwn, true
			}
		}
	}
	return 0, 0, false, false
}

func isExempt(rel string) bool {
	for _, e := range exempt {
		if matches(e, rel) {
			return true
		}
	}
	return false
}

// allowed reports whether package from may import package to.
func allowed(from, to string) bool {
	if isExempt(from) {
		return true
	}
	fr, fg, share, ok := layerOf(from)
	tr, tg, _, ok2 := layerOf(to)
	if !ok || !ok2 {
		return false
	}
	return tr < fr || (share && fg == tg)
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages returns every package of the module with its imports and
// dependencies (tests excluded).
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	return pkgs
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// TestLayers checks every import between the module's packages against
// the layers, and that every package has a layer (a new package needs a
// decision here).
func TestLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		from := strings.TrimPrefix(p.ImportPath, module)
		if _, _, _, ok := layerOf(from); !ok && !isExempt(from) {
			t.Errorf("package %s has no layer in internal/arch; add it to layers or exempt", from)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := strings.TrimPrefix(imp, module)
			if !allowed(from, to) {
				t.Errorf("%s imports %s, against the layers", from, to)
			}
		}
	}
}

// TestLayerRules checks the rule itself on the edges it must refuse, so
// that a table edit cannot silently allow everything.
func TestLayerRules(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"cmd/worker", "internal/worker", true},
		{"internal/worker", "workflows", true},
		{"workflows", "spec", true},
		{"spec", "search", true},
		{"trainer", "kernels", true},
		{"internal/cli/root", "internal/cli/top", true},
		{"workflows", "internal/store", false},
		{"workflows", "internal/events", false},
		{"workflows", "internal/worker", false},
		{"internal/worker", "internal/controller", false},
		{"internal/cli/top", "internal/controller", false},
		{"spec", "workflows", false},
		{"kernels", "trainer", false},
		{"search", "trainer", false},
		{"internal/events", "internal/store", false},
		{"internal/store", "internal/cli/top", false},
		{"internal/newthing", "kernels", false},
	} {
		if got := allowed(c.from, c.to); got != c.ok {
			t.Errorf("allowed(%s -> %s) = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

// TestComputePackagesStayPure checks that kernels, trainer, search and spec
// import nothing of Temporal, NATS, pgx or cobra (directly or indirectly),
// and that workflows imports no adapter (NATS, pgx, cobra).
func TestComputePackagesStayPure(t *testing.T) {
	forbidden := []string{"go.temporal.io/", "github.com/nats-io/", "github.com/jackc/pgx", "github.com/spf13/cobra"}
	for _, pkg := range []string{"kernels", "trainer", "search", "spec", "workflows"} {
		for _, dep := range deps(t, pkg) {
			for _, f := range forbidden {
				if pkg == "workflows" && f == "go.temporal.io/" {
					continue
				}
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// TestWorkflowsImportNoInternal checks that the workflows depend on no
// internal package: activities are called by name, and their
// implementations (internal/controller, internal/worker) and the adapters
// (internal/store, internal/events) stay out of workflow code.
func TestWorkflowsImportNoInternal(t *testing.T) {
	for _, pkg := range []string{"workflows", "spec", "search", "trainer", "kernels"} {
		var bad []string
		for _, dep := range deps(t, pkg) {
			if strings.HasPrefix(dep, module+"internal/") {
				bad = append(bad, dep)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s depends on %s", pkg, strings.Join(bad, ", "))
		}
	}
}

// TestWorkerNeverImportsPostgres checks that the worker cannot talk to
// Postgres: the database sees one writer per kind of row.
func TestWorkerNeverImportsPostgres(t *testing.T) {
	for _, pkg := range []string{"cmd/worker", "internal/worker"} {
		for _, dep := range deps(t, pkg) {
			if strings.HasPrefix(dep, "github.com/jackc/pgx") || dep == module+"internal/store" {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
