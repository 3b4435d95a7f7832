package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/relutune/relutune/internal/dashboard"
	"github.com/relutune/relutune/internal/dashboard/browsertest"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/natstest"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/internal/studyview/studytest"
	"github.com/relutune/relutune/internal/testdb"
)

// TestDashboardInBrowser serves a stored study and drives headless
// Chromium over every page: each loads without console errors, every
// chart draws its data, a trial's row moves when its epoch is published,
// and a screenshot of the study page is kept in the test's artifact
// directory (go test -artifacts keeps it).
func TestDashboardInBrowser(t *testing.T) {
	st, dbURL := testdb.New(t)
	studytest.Seed(t, st, "browser")
	ctx := context.Background()
	reader, err := store.OpenReader(ctx, testdb.ReaderURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hub := &dashboard.Hub{}
	sub, err := dashboard.FollowNATS(nc, events.Config{}, hub)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Source: reader, Hub: hub, TemporalUI: "http://temporal.test:8233"}))
	// After the browser has gone (cleanups run last in, first out): its
	// event streams stay open as long as a page is.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	b := browsertest.New(t)

	t.Run("studies", func(t *testing.T) {
		b.Open(t, srv.URL+"/")
		rows := browsertest.Eval[[]string](t, b, `Array.from(document.querySelectorAll('#studies tbody tr')).map(r => r.getAttribute('data-study'))`)
		if len(rows) != 1 || rows[0] != "browser" {
			t.Errorf("studies listed: %v, want [browser]", rows)
		}
	})

	t.Run("study", func(t *testing.T) {
		b.Open(t, srv.URL+"/study/browser")
		b.ChartsDrawn(t, "study page", "chart-history", "chart-curves", "chart-importance", "chart-parallel", "chart-pareto",
			"chart-slope-negative_slope", "chart-slope-elu_alpha", "chart-slope-prelu_init",
			"chart-dead-relu", "chart-dead-tanh", "chart-saturation-tanh", "chart-prelu", "chart-gradnorm")
		n := browsertest.Eval[int](t, b, `document.querySelectorAll('#trials tbody tr').length`)
		if n != studytest.Trials {
			t.Errorf("trial table has %d rows, want %d", n, studytest.Trials)
		}
		link := browsertest.Eval[string](t, b, `document.querySelector('#trials tr[data-trial="31"] a[href^="http://temporal.test"]').href`)
		activity := browsertest.Eval[string](t, b, `document.querySelector('#trials tr[data-trial="31"] a[href^="http://temporal.test"]').textContent`)
		if want := "http://temporal.test:8233/namespaces/default/workflows/study-browser"; link != want || activity != "trial-31-attempt-3" {
			t.Errorf("trial 31 links to %q as %q, want %q as trial-31-attempt-3 (its third try)", link, activity, want)
		}
		cells := browsertest.Eval[int](t, b, `document.querySelectorAll('#act-init-table tbody td.num').length`)
		if cells < 5 {
			t.Errorf("activation x init table has %d filled cells", cells)
		}
		// Filtering by state keeps only the failed trial.
		b.Do(t, chromedp.SetValue(chromedp.CSS(`#filter-status`), "failed"))
		browsertest.Eval[bool](t, b, `document.getElementById('filter-status').dispatchEvent(new Event('change'))`)
		states := browsertest.Eval[[]string](t, b, `Array.from(document.querySelectorAll('#trials tbody tr')).map(r => r.getAttribute('data-status'))`)
		if len(states) != 1 || states[0] != "failed" {
			t.Errorf("filtered by failed: %v", states)
		}
		b.Do(t, chromedp.SetValue(chromedp.CSS(`#filter-status`), ""))
		browsertest.Eval[bool](t, b, `document.getElementById('filter-status').dispatchEvent(new Event('change'))`)
		// Sorting by objective, descending, puts the best trial first.
		b.Do(t, chromedp.Click(chromedp.CSS(`th[data-key="objective"]`)), chromedp.Click(chromedp.CSS(`th[data-key="objective"]`)))
		first := browsertest.Eval[string](t, b, `document.querySelector('#trials tbody tr td:nth-child(4)').textContent`)
		best := browsertest.Eval[string](t, b, `document.getElementById('best').textContent`)
		if first != best {
			t.Errorf("sorted by objective descending, first row shows %q; best is %q", first, best)
		}

		path := filepath.Join(t.ArtifactDir(), "study.png")
		b.Screenshot(t, path)
		t.Logf("screenshot of the study page: %s", path)
		b.NoErrors(t, "study page")
	})

	t.Run("live", func(t *testing.T) {
		b.Open(t, srv.URL+"/study/browser")
		status := browsertest.Eval[string](t, b, `document.querySelector('#trials tr[data-trial="32"] td.status').textContent`)
		if status != "pending" {
			t.Fatalf("trial 32 starts %q, want pending", status)
		}
		// The stream is open once the page says so.
		browsertest.Poll[string](t, b, `document.getElementById('live').textContent.indexOf('live') >= 0 ? 'yes' : null`, 10*time.Second)
		// A worker's epoch: the sink stores it and the message reaches the
		// dashboard through NATS.
		trials, err := st.Trials(ctx, mustStudyID(t, st, "browser"))
		if err != nil {
			t.Fatal(err)
		}
		acc := 0.61
		if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: trials[32].ID, Epoch: 1, Attempt: 1, Layers: []byte(`[]`), Worker: "w2", EpochValues: events.EpochValues{ValAccuracy: &acc}}}); err != nil {
			t.Fatal(err)
		}
		msg, _ := json.Marshal(events.EpochMetrics{Study: "browser", Trial: 32, TrialID: trials[32].ID, Attempt: 1, Epoch: 1, Activation: "tanh", Time: time.Now(), EpochValues: events.EpochValues{ValAccuracy: &acc}})
		if err := nc.Publish(events.Config{}.MetricsSubject("browser", 32), msg); err != nil {
			t.Fatal(err)
		}
		browsertest.Poll[string](t, b, `(function () {
			var r = document.querySelector('#trials tr[data-trial="32"]');
			return r && r.querySelector('td.status').textContent === 'running' && r.querySelector('td.epochs').textContent === '1' ? 'moved' : null;
		})()`, 10*time.Second)
		b.NoErrors(t, "live study page")
	})

	t.Run("trial", func(t *testing.T) {
		b.Open(t, srv.URL+"/study/browser/trial/3") // a PReLU trial
		b.ChartsDrawn(t, "trial page", "chart-trial-curves", "chart-trial-dead", "chart-trial-saturation", "chart-trial-grad")
		epochs := browsertest.Eval[int](t, b, `document.querySelectorAll('#trial-epochs tbody tr').length`)
		layers := browsertest.Eval[int](t, b, `document.querySelectorAll('#trial-layers tbody tr').length`)
		params := browsertest.Eval[int](t, b, `document.querySelectorAll('#trial-params tbody tr').length`)
		if epochs != studytest.Epochs || layers != studytest.Epochs*studytest.Layers || params != 5 {
			t.Errorf("trial 3: %d epochs, %d layer rows, %d parameters; want %d, %d, 5", epochs, layers, params, studytest.Epochs, studytest.Epochs*studytest.Layers)
		}
		b.Open(t, srv.URL+"/study/browser/trial/31") // failed
		errText := browsertest.Eval[string](t, b, `document.getElementById('trial-error').textContent`)
		if !strings.Contains(errText, "heartbeat timeout") {
			t.Errorf("failed trial's error: %q", errText)
		}
	})

	t.Run("report", func(t *testing.T) {
		v, err := studyview.Load(ctx, reader, "browser")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "report.html")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := dashboard.WriteReport(f, v, dashboard.Links{}, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		// The dashboard is gone: the file must draw on its own.
		b.Do(t, chromedp.Navigate("about:blank"))
		srv.CloseClientConnections()
		srv.Close()
		b.Open(t, "file://"+path)
		b.ChartsDrawn(t, "report", "chart-history", "chart-curves", "chart-importance", "chart-parallel", "chart-pareto", "chart-dead-relu", "chart-prelu")
	})
}

func mustStudyID(t *testing.T, st *store.Store, name string) int64 {
	t.Helper()
	s, err := st.StudyByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// TestDashboardMultiObjectiveInBrowser opens a multi-objective study's page:
// it loads without console errors and draws the trials in objective space
// with every other chart.
func TestDashboardMultiObjectiveInBrowser(t *testing.T) {
	st, dbURL := testdb.New(t)
	studytest.SeedMultiObjective(t, st, "browser-mo")
	reader, err := store.OpenReader(context.Background(), testdb.ReaderURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Source: reader, Hub: &dashboard.Hub{}}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	b := browsertest.New(t)
	b.Open(t, srv.URL+"/study/browser-mo")
	b.ChartsDrawn(t, "multi-objective study page", "chart-objectives", "chart-history", "chart-pareto")
	front := browsertest.Eval[int](t, b, `echarts.getInstanceByDom(document.getElementById('chart-objectives')).getOption().series.find(s => s.name === 'Pareto front').data.length`)
	if front < 1 || front >= 30 {
		t.Errorf("the objectives chart rings %d trials as the front, want some of the 30", front)
	}
	summary := browsertest.Eval[string](t, b, `document.getElementById('summary').textContent`)
	if !strings.Contains(summary, "objectives: val_accuracy (maximize), epoch_seconds (minimize)") || strings.Contains(summary, "null") {
		t.Errorf("summary %q: want the objectives named, and no null", summary)
	}
	path := filepath.Join(t.ArtifactDir(), "study-multi-objective.png")
	b.Screenshot(t, path)
	t.Logf("screenshot of the study page: %s", path)
	b.NoErrors(t, "multi-objective study page")
}
