package root

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// seedStudy stores a finished study: relu beats tanh on each of three
// paired seeds; one tanh trial diverged.
func seedStudy(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "seeded", Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	var news []store.NewTrial
	objs := []float64{0.95, 0.90, 0.93, 0.90, 0.86, 0.87}
	for i := range objs {
		act := "relu"
		if i >= 3 {
			act = "tanh"
		}
		news = append(news, store.NewTrial{Number: i, ConfigHash: act, Params: []byte(fmt.Sprintf(`{"activation":%q}`, act)), Replicate: i % 3, Seed: int64(100 + i%3)})
	}
	news = append(news, store.NewTrial{Number: 6, ConfigHash: "tanh2", Params: []byte(`{"activation":"tanh","learning_rate":9}`), Seed: 100})
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objs {
		v := o
		if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: trials[i].ID, Epoch: 1, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: &v}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[i].ID, Attempt: 1, Status: "complete", Objective: &v, EpochsDone: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[6].ID, Attempt: 1, Status: "diverged", EpochsDone: 1, Error: "loss is NaN"}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishStudy(ctx, s.ID, "complete"); err != nil {
		t.Fatal(err)
	}
}

func tunectl(t *testing.T, url string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := Execute(context.Background(), io, append([]string{"--database-url", url}, args...))
	return code, out.String(), errOut.String()
}

func TestReadCommandsOverAStoredStudy(t *testing.T) {
	st, url := testdb.New(t)
	seedStudy(t, st)

	code, out, errOut := tunectl(t, url, "list", "--output", "json")
	var studies []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &studies) != nil || len(studies) != 1 || studies[0]["complete"] != float64(6) {
		t.Fatalf("list: %d %q %s", code, out, errOut)
	}

	code, out, errOut = tunectl(t, url, "status", "seeded")
	for _, want := range []string{"study seeded: complete", "trials: 7 (complete 6, diverged 1)", "dead letters: 0\n", "relu", "[0.8641, 0.9892]"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("status: exit %d, missing %q in\n%s%s", code, want, out, errOut)
		}
	}
	// Metrics messages the sink could not store are counted per study.
	if err := st.WriteDeadLetters(context.Background(), []store.DeadLetter{
		{Subject: "tune.study.seeded.trial.1.metrics", Study: "seeded", Reason: "epoch 0 must be in [1, 1000]", Data: []byte(`{"epoch":0}`)},
		{Subject: "tune.study.seeded.trial.x.metrics", Study: "seeded", Reason: "trial \"x\" must be a number"},
		{Subject: "tune.study.other.trial.1.metrics", Study: "other", Reason: "not a metrics message"},
	}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = tunectl(t, url, "status", "seeded")
	if code != 0 || !strings.Contains(out, "dead letters: 2 (") {
		t.Fatalf("status: exit %d, want 2 dead letters in\n%s%s", code, out, errOut)
	}
	code, out, _ = tunectl(t, url, "status", "seeded", "--output", "json")
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep["dead_letters"] != float64(2) {
		t.Fatalf("status --output json: exit %d, want \"dead_letters\": 2 in\n%s", code, out)
	}

	code, out, _ = tunectl(t, url, "top", "seeded", "-n", "2", "--output", "csv")
	if code != 0 || out != "RANK,TRIAL,VAL_ACCURACY,TEST_ACC,ACTIVATION,EPOCHS,SEED,PARAMS\n1,0,0.9500,-,relu,1,100,\"{\"\"activation\"\": \"\"relu\"\"}\"\n2,2,0.9300,-,relu,1,102,\"{\"\"activation\"\": \"\"relu\"\"}\"\n" {
		t.Fatalf("top: exit %d\n%s", code, out)
	}

	code, out, _ = tunectl(t, url, "compare", "seeded")
	if code != 0 || !strings.Contains(out, "relu  tanh  3      +0.0500") || !strings.Contains(out, "relu better") {
		t.Fatalf("compare: exit %d\n%s", code, out)
	}

	reader := testdb.ReaderURL(t, url)
	code, out, errOut = tunectl(t, url, "sql", "--reader-url", reader, "--output", "csv", "SELECT activation, n FROM activation_summary WHERE study = 'seeded' ORDER BY activation")
	if code != 0 || out != "activation,n\nrelu,3\ntanh,3\n" {
		t.Fatalf("sql: exit %d\n%q %s", code, out, errOut)
	}
	for _, q := range []string{"SELECT * FROM trials", "DELETE FROM studies", "UPDATE trials SET status = 'failed'"} {
		if code, _, errOut := tunectl(t, url, "sql", "--reader-url", reader, q); code != 1 || !strings.Contains(errOut, "store: query:") {
			t.Fatalf("sql %q: exit %d, %q; want it refused", q, code, errOut)
		}
	}

	code, out, _ = tunectl(t, url, "export", "seeded", "--metrics", "--output", "csv")
	if code != 0 || strings.Count(out, "\n") != 7 || !strings.HasPrefix(out, "trial,epoch,attempt,") {
		t.Fatalf("export --metrics: exit %d\n%s", code, out)
	}
	code, out, _ = tunectl(t, url, "export", "seeded")
	var trials []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &trials) != nil || len(trials) != 7 || trials[6]["status"] != "diverged" || trials[6]["objective"] != nil {
		t.Fatalf("export: exit %d\n%s", code, out)
	}

	if code, _, errOut := tunectl(t, url, "top", "no-such-study"); code != 1 || !strings.Contains(errOut, `study "no-such-study"`) {
		t.Fatalf("unknown study: exit %d %q", code, errOut)
	}
	if code, _, _ := tunectl(t, url, "export", "seeded", "--output", "table"); code != 2 {
		t.Fatalf("export --output table: exit %d, want 2", code)
	}
}
