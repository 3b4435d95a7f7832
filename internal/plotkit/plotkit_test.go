package plotkit_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/plotkit"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/internal/studyview/studytest"
	"github.com/relutune/relutune/internal/testdb"
)

func seeded(t *testing.T) *studyview.Study {
	t.Helper()
	st, url := testdb.New(t)
	studytest.Seed(t, st, "plots")
	ctx := context.Background()
	r, err := store.OpenReader(ctx, testdb.ReaderURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := studyview.Load(ctx, r, "plots")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// distinctColors counts the colours of img, up to limit.
func distinctColors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// TestDrawEveryKind draws every chart of a stored study as PNG and SVG:
// each PNG decodes and is more than a blank frame (the fixture's six
// activations and the colour maps give many colours), and each SVG is
// well-formed XML with drawn paths. The images are kept in the test's
// artifact directory.
func TestDrawEveryKind(t *testing.T) {
	v := seeded(t)
	dir := t.ArtifactDir()
	for _, kind := range plotkit.Kinds {
		t.Run(kind, func(t *testing.T) {
			var buf bytes.Buffer
			if err := plotkit.Draw(&buf, v, plotkit.Options{Kind: kind, Format: "png"}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, kind+".png"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("png: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
				t.Errorf("png is %v, want a readable size", b)
			}
			if n := distinctColors(img, 8); n < 8 {
				t.Errorf("png has %d colours: nothing drawn?", n)
			}
			buf.Reset()
			if err := plotkit.Draw(&buf, v, plotkit.Options{Kind: kind, Format: "svg"}); err != nil {
				t.Fatal(err)
			}
			paths := 0
			dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("svg: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "path" {
					paths++
				}
			}
			if paths < 10 {
				t.Errorf("svg has %d paths: nothing drawn?", paths)
			}
		})
	}
	t.Logf("images in %s", dir)
}

func TestCurvesOfEachMetric(t *testing.T) {
	v := seeded(t)
	for _, m := range studyview.CurveMetrics {
		var buf bytes.Buffer
		if err := plotkit.Draw(&buf, v, plotkit.Options{Kind: "curves", Format: "svg", Metric: m}); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if !strings.Contains(buf.String(), m) {
			t.Errorf("curves of %s: the metric is not named in the chart", m)
		}
	}
}

func TestBadOptionsAndEmptyStudy(t *testing.T) {
	for _, o := range []plotkit.Options{{Kind: "pie", Format: "png"}, {Kind: "history", Format: "gif"}, {Kind: "curves", Format: "svg", Metric: "lr"}} {
		err := plotkit.Draw(io.Discard, &studyview.Study{}, o)
		if err == nil || errors.Is(err, plotkit.ErrNoData) {
			t.Errorf("%+v: err = %v, want an options error", o, err)
		}
	}
	empty := &studyview.Study{Curves: map[string]studyview.Curves{}}
	for _, kind := range plotkit.Kinds {
		if err := plotkit.Draw(io.Discard, empty, plotkit.Options{Kind: kind, Format: "svg"}); !errors.Is(err, plotkit.ErrNoData) {
			t.Errorf("%s of an empty study: err = %v, want ErrNoData", kind, err)
		}
	}
}
