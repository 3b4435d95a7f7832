package root

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/studyview/studytest"
	"github.com/relutune/relutune/internal/testdb"
)

// TestAnalysisCommands runs importance, plot and report over a stored
// study, reading as the reader role.
func TestAnalysisCommands(t *testing.T) {
	st, url := testdb.New(t)
	studytest.Seed(t, st, "analysed")
	reader := testdb.ReaderURL(t, url)
	dir := t.TempDir()

	code, out, errOut := tunectl(t, url, "importance", "analysed", "--reader-url", reader, "--output", "json")
	var imps []struct {
		Param      string  `json:"param"`
		Importance float64 `json:"importance"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &imps) != nil {
		t.Fatalf("importance: exit %d %q %s", code, out, errOut)
	}
	var sum float64
	for _, i := range imps {
		sum += i.Importance
	}
	if len(imps) != 7 || math.Abs(sum-1) > 1e-9 {
		t.Errorf("importance: %d parameters summing to %v, want 7 summing to 1: %v", len(imps), sum, imps)
	}
	code, out, _ = tunectl(t, url, "importance", "analysed", "--reader-url", reader)
	if code != 0 || !strings.HasPrefix(out, "PARAM") || !strings.Contains(out, "learning_rate") {
		t.Errorf("importance table: exit %d\n%s", code, out)
	}

	pngPath := filepath.Join(dir, "dead.png")
	if code, _, errOut := tunectl(t, url, "plot", "analysed", "--reader-url", reader, "--kind", "dead", "-o", pngPath); code != 0 {
		t.Fatalf("plot: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("plot -o dead.png: not a PNG: %v", err)
	}
	code, out, _ = tunectl(t, url, "plot", "analysed", "--reader-url", reader, "--kind", "pareto")
	if code != 0 || !strings.Contains(out, "<svg") {
		t.Errorf("plot to standard output: exit %d, not SVG: %.80q", code, out)
	}
	for _, bad := range [][]string{{"--kind", "pie"}, {"-o", filepath.Join(dir, "x.gif")}, {"--metric", "lr"}} {
		code, _, errOut := tunectl(t, url, append([]string{"plot", "analysed", "--reader-url", reader}, bad...)...)
		if code != cmdutil.ExitUsage || !strings.Contains(errOut, "allowed") {
			t.Errorf("plot %v: exit %d, %q; want a usage error that says what is allowed", bad, code, errOut)
		}
	}

	report := filepath.Join(dir, "report.html")
	if code, _, errOut := tunectl(t, url, "report", "analysed", "--reader-url", reader, "-o", report); code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="study-data"`, `"study":"analysed"`, "echarts", `data-page="report"`} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, external := range []string{`src="http`, `href="http://cdn`, `<link rel="stylesheet"`, `src="/`} {
		if bytes.Contains(html, []byte(external)) {
			t.Errorf("report is not self-contained: it has %q", external)
		}
	}

	if code, _, errOut := tunectl(t, url, "importance", "nosuchstudy", "--reader-url", reader); code == 0 || !strings.Contains(errOut, "nosuchstudy") {
		t.Errorf("importance of a missing study: exit %d, %q", code, errOut)
	}
	if code, _, errOut := tunectl(t, url, "dashboard", "--listen", "nowhere"); code != cmdutil.ExitUsage || !strings.Contains(errOut, "--listen") {
		t.Errorf("dashboard --listen nowhere: exit %d, %q", code, errOut)
	}
}

// lockedBuffer is a bytes.Buffer that a command writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDashboardCommand serves the dashboard as `tunectl dashboard` does,
// reads a study through it and stops it by canceling its context.
func TestDashboardCommand(t *testing.T) {
	st, url := testdb.New(t)
	studytest.Seed(t, st, "served")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut lockedBuffer
	ios := &cmdutil.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}
	done := make(chan int, 1)
	go func() {
		done <- Execute(ctx, ios, []string{"--database-url", url, "--nats-url", "nats://127.0.0.1:1", "dashboard",
			"--listen", "127.0.0.1:0", "--reader-url", testdb.ReaderURL(t, url), "--no-live"})
	}()
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if _, rest, ok := strings.Cut(errOut.String(), "dashboard: "); ok {
			base, _, _ = strings.Cut(rest, "\n")
		}
		select {
		case code := <-done:
			t.Fatalf("dashboard exited %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Get(strings.TrimSuffix(base, "/") + "/api/studies/served")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Overview struct {
			Trials int `json:"trials"`
		} `json:"overview"`
		Links struct {
			Trials map[string]string `json:"trials"`
		} `json:"links"`
	}
	err = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if err != nil || v.Overview.Trials != studytest.Trials || !strings.HasSuffix(v.Links.Trials["0"], "/namespaces/default/workflows/study-served") {
		t.Errorf("GET /api/studies/served: %v, %d trials, trial 0 links to %q", err, v.Overview.Trials, v.Links.Trials["0"])
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("dashboard exited %d after cancel: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dashboard did not stop when its context was canceled")
	}
}
