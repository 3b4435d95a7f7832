package integration

import (
	"context"
	"strings"
	"testing"
)

// TestEnqueueRunsGivenConfigurations: a spec's enqueue list runs first,
// as trial 0; `tunectl enqueue` on the running study adds a configuration
// that runs too, raising the budget; a configuration outside the space is
// refused with the reason.
func TestEnqueueRunsGivenConfigurations(t *testing.T) {
	e := Start(t, 1)
	name := "it-enqueue-" + e.DBName[len("relutune_it_"):]
	text := strings.Replace(fourTrials, "schedule: {kind: none, max_epochs: 3}", "schedule: {kind: none, max_epochs: 20}", 1)
	text = strings.Replace(text, "model: {kind: mlp, hidden: [8]}", "model: {kind: mlp, hidden: [64, 64]}", 1)
	text += "enqueue:\n  - {activation: tanh, learning_rate: 0.02, batch_size: 32}\n"
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	if code, _, errOut := e.Tunectl(t, "{activation: relu, learning_rate: 0.5, batch_size: 32}", "enqueue", name, "-"); code == 0 || !strings.Contains(errOut, "configs[0]") {
		t.Fatalf("enqueue of a configuration outside the space exited %d: %s", code, errOut)
	}
	code, out, errOut := e.Tunectl(t, "[{activation: elu, learning_rate: 0.005, batch_size: 64}]", "enqueue", name, "-")
	if code != 0 || !strings.Contains(out, "budget is now 5 trials") {
		t.Fatalf("enqueue exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" || res.Counts["complete"] != 5 {
		t.Fatalf("study: %+v", res)
	}
	var first, added int
	if err := e.DB(t).QueryRow(context.Background(), `SELECT
			count(*) FILTER (WHERE t.number = 0 AND t.params->>'activation' = 'tanh' AND (t.params->>'learning_rate')::float8 = 0.02),
			count(*) FILTER (WHERE t.params->>'activation' = 'elu' AND (t.params->>'learning_rate')::float8 = 0.005 AND t.status = 'complete')
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&first, &added); err != nil {
		t.Fatal(err)
	}
	if first != 1 || added != 1 {
		t.Fatalf("trial 0 from the spec's enqueue: %d, enqueued configuration run: %d; want 1 and 1", first, added)
	}
}
