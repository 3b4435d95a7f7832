package controller

import (
	"encoding/json"
	"testing"

	"github.com/relutune/relutune/internal/events"
)

func benchMessage(b testing.TB) []byte {
	m := events.EpochMetrics{Study: "s", StudyID: 1, Trial: 3, TrialID: 42, Attempt: 1, Worker: "host-1234", Epoch: 7, MaxEpochs: 20, Activation: "relu",

		Layers: []events.LayerStats{{DeadFraction: events.Finite(0.1), Saturation: events.Finite(0.01), ActMean: events.Finite(0.3), ActStd: events.Finite(1), GradNorm: events.Finite(1)},
			{DeadFraction: events.Finite(0.1), Saturation: events.Finite(0.01), ActMean: events.Finite(0.3), ActStd: events.Finite(1), GradNorm: events.Finite(1)}}, EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.5), TrainLoss: events.Finite(0.1), ValLoss: events.Finite(0.2), LR: events.Finite(1e-3), SamplesPerSec: events.Finite(1e4),
			DeadFraction: events.Finite(0.1), Saturation: events.Finite(0.01), GradNorm: events.Finite(2)},
	}
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
	var c events.Config
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMetricRow(c, testSubject, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUnchecked(b *testing.B) {
	data := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		var m events.EpochMetrics
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(m.Layers); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGeneric is the decode that the fast path spares the
// common message: encoding/json and the layers' re-encoding.
func BenchmarkDecodeGeneric(b *testing.B) {
	data := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := decodeGeneric(data); err != nil {
			b.Fatal(err)
		}
	}
}
