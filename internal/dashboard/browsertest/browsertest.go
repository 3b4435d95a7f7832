// Package browsertest drives Debian's headless Chromium (chromedp) over the
// dashboard's pages for tests: it records console errors and uncaught
// exceptions, waits for a page to draw, and checks that every chart on it
// was given data and inked its canvas.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the headless browser the tests drive: RELUTUNE_CHROMIUM,
// else Debian's chromium (which .ci/run installs).
func Chromium(t testing.TB) string {
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

// Browser is a headless Chromium tab that records console errors and
// uncaught exceptions.
type Browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// New starts headless Chromium for the test; it stops when the test ends.
func New(t testing.TB) *Browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &Browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", Chromium(t), err)
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

// Do runs steps with a time limit.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates js in the page and decodes its value into out.
func Eval[T any](t testing.TB, b *Browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// Poll waits until js gives a value other than null or undefined.
func Poll[T any](t testing.TB, b *Browser, js string, limit time.Duration) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit+10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](js, chromedp.WithPollingTimeout(limit)))
	if err != nil {
		t.Fatalf("wait for %.120q: %v", js, err)
	}
	return v
}

// Open loads url and waits until the page has drawn its data.
func (b *Browser) Open(t testing.TB, url string) {
	t.Helper()
	b.Do(t, chromedp.Navigate(url))
	ready := Poll[string](t, b, `document.body && document.body.getAttribute('data-ready')`, 30*time.Second)
	if ready != "true" {
		msg := Eval[string](t, b, `(document.getElementById('load-error')||{}).textContent || ''`)
		t.Fatalf("%s: page state %q: %s", url, ready, msg)
	}
	b.NoErrors(t, url)
}

// NoErrors fails t for each console error and uncaught exception since
// the last check.
func (b *Browser) NoErrors(t testing.TB, where string) {
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

// ChartsDrawn checks that the page has the charts want (ids) and that
// every chart on it was given data and drew it.
func (b *Browser) ChartsDrawn(t testing.TB, where string, want ...string) {
	t.Helper()
	charts := Eval[[]chartState](t, b, chartsJS)
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

// Screenshot writes a PNG of the whole page to path.
func (b *Browser) Screenshot(t testing.TB, path string) {
	t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
