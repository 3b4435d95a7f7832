package studyview

import (
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
)

// TestCacheRecomputesWhenATrialCompletes: the same complete trials give the
// cached result; a new objective gives a fresh one.
func TestCacheRecomputesWhenATrialCompletes(t *testing.T) {
	space, err := search.NewSpace([]search.Param{{Name: "x", Kind: search.Float, Low: 0, High: 1}, {Name: "y", Kind: search.Float, Low: 0, High: 1}})
	if err != nil {
		t.Fatal(err)
	}
	configs := map[int]search.Config{}
	var trials []store.TrialOverview
	for i := range 20 {
		x, y := float64(i%5)/5, float64(i%7)/7
		configs[i] = search.Config{"x": search.Num(x), "y": search.Num(y)}
		obj := 3*x + y
		trials = append(trials, store.TrialOverview{Trial: i, Status: "complete", Objective: &obj})
	}
	var c Cache
	first, note := c.importances("s", space, trials, configs)
	if len(first) != 2 || note != "" {
		t.Fatalf("importances %v, note %q", first, note)
	}
	again, _ := c.importances("s", space, trials, configs)
	if &again[0] != &first[0] {
		t.Error("same complete trials: computed again instead of cached")
	}
	changed := 0.0
	trials[3].Objective = &changed
	fresh, _ := c.importances("s", space, trials, configs)
	if &fresh[0] == &first[0] {
		t.Error("a changed objective: the cached importances came back")
	}
	var none *Cache
	if imps, _ := none.importances("s", space, trials, configs); len(imps) != 2 {
		t.Errorf("nil cache: %v", imps)
	}
}
