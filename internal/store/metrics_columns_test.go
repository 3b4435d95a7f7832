package store

import (
	"math"
	"strings"
	"testing"
)

// TestCurveColumnIsClosed: only the plottable columns of MetricColumns
// name a curve, so no caller text reaches the SQL.
func TestCurveColumnIsClosed(t *testing.T) {
	for _, ok := range []string{"val_accuracy", "val_loss", "train_loss", "dead_fraction", "saturation", "grad_norm"} {
		if c, err := curveColumn(ok); err != nil || c.Name != ok {
			t.Errorf("curveColumn(%q) = %+v, %v", ok, c, err)
		}
	}
	for _, bad := range []string{"lr", "samples_per_sec", "val_loss) FROM studies --", "VAL_LOSS", ""} {
		_, err := curveColumn(bad)
		if err == nil || !strings.Contains(err.Error(), "allowed: train_loss, val_loss, val_accuracy, dead_fraction, saturation, grad_norm") {
			t.Errorf("curveColumn(%q) err %v, want a refusal naming the allowed metrics", bad, err)
		}
	}
}

// TestCopyRowFollowsMetricColumns: the COPY's values line up with its
// columns, each metric value from its own field.
func TestCopyRowFollowsMetricColumns(t *testing.T) {
	r := MetricRow{TrialID: 1, Epoch: 2, Attempt: 3, Worker: "w"}
	vals := map[string]float64{}
	for i, c := range MetricColumns {
		v := float64(10 + i)
		vals[c.Name] = v
		switch c.Name {
		case "train_loss":
			r.TrainLoss = &v
		case "val_loss":
			r.ValLoss = &v
		case "val_accuracy":
			r.ValAccuracy = &v
		case "dead_fraction":
			r.DeadFraction = &v
		case "saturation":
			r.Saturation = &v
		case "grad_norm":
			r.GradNorm = &v
		case "samples_per_sec":
			r.SamplesPerSec = &v
		case "lr":
			r.LR = &v
		default:
			t.Fatalf("column %s unknown to this test", c.Name)
		}
	}
	row := copyRow(&r)
	if len(row) != len(metricColumns) {
		t.Fatalf("%d values for %d columns", len(row), len(metricColumns))
	}
	for i, col := range metricColumns {
		if want, ok := vals[col]; ok {
			if got := row[i].(*float64); *got != want {
				t.Errorf("column %s = %v, want %v", col, *got, want)
			}
		}
	}
	nan := math.NaN()
	r.LR = &nan
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "lr NaN must be finite") {
		t.Errorf("Validate with lr NaN: %v", err)
	}
}
