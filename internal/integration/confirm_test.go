package integration

import (
	"context"
	"strings"
	"testing"
)

// TestConfirmRerunsTheTopOnFreshSeeds runs a study, then `tunectl confirm`
// re-runs its two best configurations on two fresh paired seeds as new
// trials of the same study: four new trials, complete, numbered after the
// old ones, on seeds no earlier trial used, the same two seeds for both;
// the report says whether the ranking holds and the study ends complete.
func TestConfirmRerunsTheTopOnFreshSeeds(t *testing.T) {
	e := Start(t, 2)
	name := "it-confirm-" + e.DBName[len("relutune_it_"):]
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, fourTrials)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" {
		t.Fatalf("study: %+v", res)
	}
	code, out, errOut := e.Tunectl(t, "", "confirm", name, "--top", "2", "--seeds", "2")
	if code != 0 || !strings.Contains(out, "confirming the top 2 configurations of "+name+" on 2 fresh seeds: trials 4 to 7") ||
		!strings.Contains(out, "the ranking") {
		t.Fatalf("confirm exited %d:\n%s%s", code, out, errOut)
	}
	t.Logf("tunectl confirm:\n%s", out)
	db := e.DB(t)
	ctx := context.Background()
	var newTrials, complete, seeds, configs, reused int
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE t.status = 'complete'), count(DISTINCT t.seed),
			count(DISTINCT t.config_hash),
			count(*) FILTER (WHERE t.seed IN (SELECT o.seed FROM trials o WHERE o.study_id = t.study_id AND o.number < 4))
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number >= 4`, name).
		Scan(&newTrials, &complete, &seeds, &configs, &reused); err != nil {
		t.Fatal(err)
	}
	if newTrials != 4 || complete != 4 || seeds != 2 || configs != 2 || reused != 0 {
		t.Fatalf("new trials %d (complete %d) on %d seeds, %d configurations, %d on old seeds; want 4 (4) on 2 fresh seeds, 2 configurations",
			newTrials, complete, seeds, configs, reused)
	}
	var status string
	if err := db.QueryRow(ctx, `SELECT status FROM studies WHERE name = $1`, name).Scan(&status); err != nil || status != "complete" {
		t.Fatalf("study status %q, %v", status, err)
	}
	// A running or unknown study is refused with the reason.
	if code, _, errOut := e.Tunectl(t, "", "confirm", "no-such-study"); code == 0 || !strings.Contains(errOut, "no-such-study") {
		t.Fatalf("confirm of an unknown study exited %d: %s", code, errOut)
	}
}
