package integration

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/relutune/relutune/internal/dashboard"
	"github.com/relutune/relutune/internal/dashboard/browsertest"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/internal/testdb"
)

const dashboardStudy = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [12, 12]}
objective: {metric: val_accuracy, direction: maximize}
space:
  activation: {choice: [relu, leaky_relu, elu, prelu, tanh]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  elu_alpha: {uniform: [0.5, 1.5], when: {activation: elu}}
  prelu_init: {uniform: [0.05, 0.4], when: {activation: prelu}}
  learning_rate: {log_uniform: [1.0e-3, 3.0e-2]}
  init: {choice: [he_normal, xavier_uniform]}
search: {algorithm: random, max_trials: 15, parallelism: 2, seed: 7}
schedule: {kind: none, max_epochs: 5}
optimizer: {kind: adam}
`

// TestDashboardOverARealStudy runs a study through Temporal, the workers,
// NATS and Postgres, follows it in the dashboard in headless Chromium while
// it trains (the studies page, open before the study starts, must show it
// and its finished trials without a reload) and, once it is done, checks
// that every chart of its page draws the real diagnostics.
// The screenshot is kept in the test's artifact directory.
func TestDashboardOverARealStudy(t *testing.T) {
	e := Start(t, 2)
	name := "it-dash-" + e.DBName[len("relutune_it_"):]
	ctx := context.Background()

	reader, err := store.OpenReader(ctx, testdb.ReaderURL(t, e.Conn.DatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	nc, err := nats.Connect(e.Conn.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hub := &dashboard.Hub{}
	sub, err := dashboard.FollowNATS(nc, e.Events, hub)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Source: reader, Hub: hub, TemporalUI: "http://127.0.0.1:8233"}))
	// After the browser has gone (cleanups run last in, first out): its
	// event streams stay open as long as a page is.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	b := browsertest.New(t)

	// The studies page is open before the study exists: only the event
	// stream can bring the study's row, and then its finished trials.
	b.Open(t, srv.URL+"/")
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, dashboardStudy)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	browsertest.Poll[string](t, b, `(function () {
		var r = document.querySelector('#studies tr[data-study="`+name+`"]');
		return r && / [1-9][0-9]*\/15$/.test(r.children[2].textContent) ? r.children[2].textContent : null;
	})()`, 120*time.Second)
	b.NoErrors(t, "studies page")

	res := waitStudy(t, e, name)
	if res.Status != "complete" {
		t.Fatalf("study result %+v", res)
	}
	// The sink stores the last epochs shortly after the workflow ends.
	waitMetrics(t, e, name, 15*5-countShort(t, reader, name))
	v, err := studyview.Load(ctx, reader, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Dead) == 0 || len(v.Saturation) == 0 || len(v.GradNorm) == 0 || len(v.History) == 0 {
		t.Errorf("view of a real study lacks diagnostics: dead %d, saturation %d, grad norm %d, history %d", len(v.Dead), len(v.Saturation), len(v.GradNorm), len(v.History))
	}
	acts := map[string]int{}
	for _, tr := range v.Trials {
		if tr.Activation != nil {
			acts[*tr.Activation]++
		}
	}
	t.Logf("trials per activation: %v; dead heatmaps: %d; PReLU series: %d", acts, len(v.Dead), len(v.PReLU))
	b.Open(t, srv.URL+"/study/"+name)
	want := []string{"chart-history", "chart-curves", "chart-importance", "chart-parallel", "chart-pareto", "chart-gradnorm"}
	for _, h := range v.Dead {
		want = append(want, "chart-dead-"+h.Activation)
	}
	if len(v.PReLU) > 0 {
		want = append(want, "chart-prelu")
	}
	b.ChartsDrawn(t, "study page", want...)
	path := filepath.Join(t.ArtifactDir(), "study.png")
	b.Screenshot(t, path)
	t.Logf("screenshot of the study page: %s", path)
	b.Open(t, srv.URL+"/study/"+name+"/trial/0")
	b.ChartsDrawn(t, "trial page", "chart-trial-curves", "chart-trial-dead", "chart-trial-saturation", "chart-trial-grad")
	b.NoErrors(t, "dashboard")
}

// countShort is how many epochs the study's trials did not run (pruned or
// diverged trials stop early).
func countShort(t *testing.T, r *store.Reader, name string) int {
	t.Helper()
	trials, err := r.TrialOverviews(context.Background(), name, -1)
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for _, tr := range trials {
		short += 5 - tr.EpochsDone
	}
	return short
}
