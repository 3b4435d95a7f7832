package stats

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	// Reference values computed by hand: mean 2.5, s = sqrt(5/3),
	// half-width t(3) * s / 2 = 3.182 * 1.290994 / 2.
	s := Summarize([]float64{1, 2, 3, 4})
	if s.N != 4 || s.Mean != 2.5 || math.Abs(s.Stddev-1.2909944) > 1e-6 {
		t.Fatalf("%+v", s)
	}
	h := 3.182 * 1.2909944 / 2
	if math.Abs(s.Low-(2.5-h)) > 1e-6 || math.Abs(s.High-(2.5+h)) > 1e-6 {
		t.Fatalf("interval [%v, %v], want 2.5 ± %v", s.Low, s.High, h)
	}
	one := Summarize([]float64{7})
	if one.Mean != 7 || !math.IsNaN(one.Stddev) || !math.IsNaN(one.Low) {
		t.Fatalf("single value: %+v", one)
	}
	if T95(100) != 1.96 || T95(1) != 12.706 || !math.IsNaN(T95(0)) {
		t.Fatal("t table")
	}
}
