package trainer

import (
	"errors"
	"testing"
)

func TestParseMetric(t *testing.T) {
	e := EpochMetrics{TrainLoss: 1, ValLoss: 2, ValAccuracy: 3}
	for _, c := range []struct {
		name string
		want float64
	}{{"train_loss", 1}, {"val_loss", 2}, {"val_accuracy", 3}} {
		m, err := ParseMetric(c.name)
		if err != nil {
			t.Fatalf("ParseMetric(%q): %v", c.name, err)
		}
		if v, ok := m.Of(e); !ok || v != c.want {
			t.Errorf("%s.Of = %v, %v; want %v", m, v, ok, c.want)
		}
	}
	for _, bad := range []string{"", "VAL_LOSS", "val_accuracy ", "dead_fraction"} {
		if _, err := ParseMetric(bad); !errors.Is(err, ErrUnknownMetric) {
			t.Errorf("ParseMetric(%q) = %v, want ErrUnknownMetric", bad, err)
		}
	}
	if _, ok := Metric("x").Of(e); ok {
		t.Error("an unknown metric has a value")
	}
	if !ValLoss.Minimized() || ValAccuracy.Minimized() {
		t.Error("Minimized is wrong")
	}
}
