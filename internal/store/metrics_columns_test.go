package store

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/events"
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
// columns, each metric value from its own field, and each column's JSON
// name in a message is its column name.
func TestCopyRowFollowsMetricColumns(t *testing.T) {
	r := MetricRow{TrialID: 1, Epoch: 2, Attempt: 3, Worker: "w"}
	vals := map[string]float64{}
	for i, c := range events.EpochColumns {
		v := float64(10 + i)
		vals[c.Name] = v
		*c.Of(&r.EpochValues) = &v
	}
	// Every field of EpochValues is a column, under its JSON name.
	js, err := json.Marshal(r.EpochValues)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]float64
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, vals) {
		t.Errorf("EpochValues as JSON = %v, want every column once: %v", back, vals)
	}
	if n := reflect.TypeFor[events.EpochValues]().NumField(); n != len(events.EpochColumns) {
		t.Errorf("EpochValues has %d fields, EpochColumns %d", n, len(events.EpochColumns))
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
	for _, c := range events.EpochColumns {
		if !strings.Contains(mergeMetrics, "s."+c.Name) || !strings.Contains(mergeMetrics, c.Name+" = excluded."+c.Name) {
			t.Errorf("the merge does not carry %s", c.Name)
		}
	}
	nan := math.NaN()
	r.LR = &nan
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "lr NaN must be finite") {
		t.Errorf("Validate with lr NaN: %v", err)
	}
}
