package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/relutune/relutune/internal/dashboard"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/natstest"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/internal/studyview/studytest"
	"github.com/relutune/relutune/internal/testdb"
)

// chromium returns the headless browser the tests drive: RELUTUNE_CHROMIUM,
// else Debian's chromium (which .ci/run installs).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELUTUNE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install Debian's chromium package (apt-get install chromium) or set RELUTUNE_CHROMIUM")
	return ""
}

// browser is a headless Chromium tab that records console errors and
// uncaught exceptions.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromium(t), err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.errors = append(b.errors, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.errors = append(b.errors, "exception: "+msg)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs steps with a time limit.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates js in the page and decodes its value into out.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// poll waits until js gives a value other than null or undefined.
func poll[T any](t *testing.T, b *browser, js string, limit time.Duration) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit+10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](js, chromedp.WithPollingTimeout(limit)))
	if err != nil {
		t.Fatalf("wait for %.120q: %v", js, err)
	}
	return v
}

// open loads url and waits until the page has drawn its data.
func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	b.do(t, chromedp.Navigate(url))
	ready := poll[string](t, b, `document.body && document.body.getAttribute('data-ready')`, 30*time.Second)
	if ready != "true" {
		msg := eval[string](t, b, `(document.getElementById('load-error')||{}).textContent || ''`)
		t.Fatalf("%s: page state %q: %s", url, ready, msg)
	}
	b.noErrors(t, url)
}

func (b *browser) noErrors(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("%s: %s", where, e)
	}
	b.errors = nil
}

type chartState struct {
	ID     string `json:"id"`
	Points int    `json:"points"`
	Inked  int    `json:"inked"`
}

// chartsJS lists every chart of the page with the data points it was
// given and how many of its canvas pixels are not blank.
const chartsJS = `Array.from(document.querySelectorAll('[data-chart]')).map(function (n) {
  var c = n.querySelector('canvas'), inked = 0;
  if (c) {
    var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (var i = 3; i < d.length; i += 4) if (d[i] > 0 && !(d[i-3] > 250 && d[i-2] > 250 && d[i-1] > 250)) inked++;
  }
  return {id: n.id, points: +(n.getAttribute('data-points') || 0), inked: inked};
})`

// chartsDrawn checks that the page has the charts want (ids) and that
// every chart on it was given data and drew it.
func (b *browser) chartsDrawn(t *testing.T, where string, want ...string) {
	t.Helper()
	charts := eval[[]chartState](t, b, chartsJS)
	got := map[string]chartState{}
	for _, c := range charts {
		got[c.ID] = c
		if c.Points == 0 || c.Inked < 200 {
			t.Errorf("%s: chart %s: %d data points, %d inked pixels; want data drawn", where, c.ID, c.Points, c.Inked)
		}
	}
	for _, id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("%s: no chart %s (have %v)", where, id, charts)
		}
	}
}

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
	defer srv.Close()
	b := newBrowser(t)

	t.Run("studies", func(t *testing.T) {
		b.open(t, srv.URL+"/")
		rows := eval[[]string](t, b, `Array.from(document.querySelectorAll('#studies tbody tr')).map(r => r.getAttribute('data-study'))`)
		if len(rows) != 1 || rows[0] != "browser" {
			t.Errorf("studies listed: %v, want [browser]", rows)
		}
	})

	t.Run("study", func(t *testing.T) {
		b.open(t, srv.URL+"/study/browser")
		b.chartsDrawn(t, "study page", "chart-history", "chart-curves", "chart-importance", "chart-parallel", "chart-pareto",
			"chart-slope-negative_slope", "chart-slope-elu_alpha", "chart-slope-prelu_init",
			"chart-dead-relu", "chart-dead-tanh", "chart-saturation-tanh", "chart-prelu", "chart-gradnorm")
		n := eval[int](t, b, `document.querySelectorAll('#trials tbody tr').length`)
		if n != studytest.Trials {
			t.Errorf("trial table has %d rows, want %d", n, studytest.Trials)
		}
		link := eval[string](t, b, `document.querySelector('#trials tr[data-trial="0"] a[href^="http://temporal.test"]').href`)
		if want := "http://temporal.test:8233/namespaces/default/workflows/study-browser-trial-0"; link != want {
			t.Errorf("trial 0 links to %q, want %q", link, want)
		}
		cells := eval[int](t, b, `document.querySelectorAll('#act-init-table tbody td.num').length`)
		if cells < 5 {
			t.Errorf("activation x init table has %d filled cells", cells)
		}
		// Filtering by state keeps only the failed trial.
		b.do(t, chromedp.SetValue(chromedp.CSS(`#filter-status`), "failed"))
		eval[bool](t, b, `document.getElementById('filter-status').dispatchEvent(new Event('change'))`)
		states := eval[[]string](t, b, `Array.from(document.querySelectorAll('#trials tbody tr')).map(r => r.getAttribute('data-status'))`)
		if len(states) != 1 || states[0] != "failed" {
			t.Errorf("filtered by failed: %v", states)
		}
		b.do(t, chromedp.SetValue(chromedp.CSS(`#filter-status`), ""))
		eval[bool](t, b, `document.getElementById('filter-status').dispatchEvent(new Event('change'))`)
		// Sorting by objective, descending, puts the best trial first.
		b.do(t, chromedp.Click(chromedp.CSS(`th[data-key="objective"]`)), chromedp.Click(chromedp.CSS(`th[data-key="objective"]`)))
		first := eval[string](t, b, `document.querySelector('#trials tbody tr td:nth-child(4)').textContent`)
		best := eval[string](t, b, `document.getElementById('best').textContent`)
		if first != best {
			t.Errorf("sorted by objective descending, first row shows %q; best is %q", first, best)
		}

		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.ArtifactDir(), "study.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of the study page: %s", path)
		b.noErrors(t, "study page")
	})

	t.Run("live", func(t *testing.T) {
		b.open(t, srv.URL+"/study/browser")
		status := eval[string](t, b, `document.querySelector('#trials tr[data-trial="32"] td.status').textContent`)
		if status != "pending" {
			t.Fatalf("trial 32 starts %q, want pending", status)
		}
		// The stream is open once the page says so.
		poll[string](t, b, `document.getElementById('live').textContent.indexOf('live') >= 0 ? 'yes' : null`, 10*time.Second)
		// A worker's epoch: the sink stores it and the message reaches the
		// dashboard through NATS.
		trials, err := st.Trials(ctx, mustStudyID(t, st, "browser"))
		if err != nil {
			t.Fatal(err)
		}
		acc := 0.61
		if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: trials[32].ID, Epoch: 1, Attempt: 1, ValAccuracy: &acc, Layers: []byte(`[]`), Worker: "w2"}}); err != nil {
			t.Fatal(err)
		}
		msg, _ := json.Marshal(events.EpochMetrics{Study: "browser", Trial: 32, TrialID: trials[32].ID, Attempt: 1, Epoch: 1, Activation: "tanh", ValAccuracy: &acc, Time: time.Now()})
		if err := nc.Publish(events.Config{}.MetricsSubject("browser", 32), msg); err != nil {
			t.Fatal(err)
		}
		poll[string](t, b, `(function () {
			var r = document.querySelector('#trials tr[data-trial="32"]');
			return r && r.querySelector('td.status').textContent === 'running' && r.querySelector('td.epochs').textContent === '1' ? 'moved' : null;
		})()`, 10*time.Second)
		b.noErrors(t, "live study page")
	})

	t.Run("trial", func(t *testing.T) {
		b.open(t, srv.URL+"/study/browser/trial/3") // a PReLU trial
		b.chartsDrawn(t, "trial page", "chart-trial-curves", "chart-trial-dead", "chart-trial-saturation", "chart-trial-grad")
		epochs := eval[int](t, b, `document.querySelectorAll('#trial-epochs tbody tr').length`)
		layers := eval[int](t, b, `document.querySelectorAll('#trial-layers tbody tr').length`)
		params := eval[int](t, b, `document.querySelectorAll('#trial-params tbody tr').length`)
		if epochs != studytest.Epochs || layers != studytest.Epochs*studytest.Layers || params != 5 {
			t.Errorf("trial 3: %d epochs, %d layer rows, %d parameters; want %d, %d, 5", epochs, layers, params, studytest.Epochs, studytest.Epochs*studytest.Layers)
		}
		b.open(t, srv.URL+"/study/browser/trial/31") // failed
		errText := eval[string](t, b, `document.getElementById('trial-error').textContent`)
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
		b.do(t, chromedp.Navigate("about:blank"))
		srv.CloseClientConnections()
		srv.Close()
		b.open(t, "file://"+path)
		b.chartsDrawn(t, "report", "chart-history", "chart-curves", "chart-importance", "chart-parallel", "chart-pareto", "chart-dead-relu", "chart-prelu")
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
