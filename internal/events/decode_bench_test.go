package events

import (
	"encoding/json"
	"testing"
)

func benchMessage(b *testing.B) []byte {
	m := EpochMetrics{Study: "s", StudyID: 1, Trial: 3, TrialID: 42, Attempt: 1, Worker: "host-1234", Epoch: 7, MaxEpochs: 20, Activation: "relu",
		ValAccuracy: Finite(0.5), TrainLoss: Finite(0.1), ValLoss: Finite(0.2), LR: Finite(1e-3), SamplesPerSec: Finite(1e4),
		DeadFraction: Finite(0.1), Saturation: Finite(0.01), GradNorm: Finite(2),
		Layers: []LayerStats{{DeadFraction: Finite(0.1), Saturation: Finite(0.01), ActMean: Finite(0.3), ActStd: Finite(1), GradNorm: Finite(1)},
			{DeadFraction: Finite(0.1), Saturation: Finite(0.01), ActMean: Finite(0.3), ActStd: Finite(1), GradNorm: Finite(1)}}}
	data, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeMetricRow measures the checked decode of a typical
// message (two hidden layers); BenchmarkDecodeUnchecked, the plain decode
// and re-encode of the layers that the checks add to.
func BenchmarkDecodeMetricRow(b *testing.B) {
	data := benchMessage(b)
	var c Config
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.DecodeMetricRow(testSubject, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUnchecked(b *testing.B) {
	data := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		var m EpochMetrics
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(m.Layers); err != nil {
			b.Fatal(err)
		}
	}
}
