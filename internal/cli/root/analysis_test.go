package root

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
