package controller

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/relutune/relutune/internal/events"
)

// decodeGeneric is DecodeMetricRow's result for data through
// encoding/json alone: the fields and layers' JSON, or the error.
func decodeGeneric(data []byte) (metricFields, []byte, error) {
	m, err := unmarshalMetrics(data)
	if err != nil {
		return m, nil, err
	}
	layers := m.Layers
	if layers == nil {
		layers = []events.LayerStats{}
	}
	lj, err := json.Marshal(layers)
	return m, lj, err
}

// sameFields compares what both decoders give, values by value.
func sameFields(t *testing.T, data []byte, fast, generic metricFields, fastN int) {
	t.Helper()
	if fast.metricIdentity != generic.metricIdentity {
		t.Fatalf("%s: identity %+v, generic %+v", data, fast.metricIdentity, generic.metricIdentity)
	}
	for _, c := range append(events.EpochColumns, events.EpochColumn{Name: events.LegacySamplesPerSecKey}) {
		var f, g *float64
		if c.Of == nil {
			f, g = fast.LegacySamplesPerSec, generic.LegacySamplesPerSec
		} else {
			f, g = *c.Of(&fast.EpochValues), *c.Of(&generic.EpochValues)
		}
		if (f == nil) != (g == nil) || (f != nil && *f != *g) {
			t.Fatalf("%s: %s is %v, generic %v", data, c.Name, floatOrNil(f), floatOrNil(g))
		}
	}
	if fastN != len(generic.Layers) {
		t.Fatalf("%s: %d layers, generic %d", data, fastN, len(generic.Layers))
	}
}

func floatOrNil(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestDecodeFastCoversFields fails when metricFields or events.LayerStats
// gain a field the fast decoder does not read: every message would then
// take the slow path.
func TestDecodeFastCoversFields(t *testing.T) {
	if !fastOK {
		t.Fatal("the fast decoder does not cover metricFields and events.LayerStats: teach decode_fast.go the new field")
	}
}

func TestDecodeFastMatchesGeneric(t *testing.T) {
	for _, data := range fastSeeds(t) {
		fast, lj, n, ok := decodeFast(data)
		generic, glj, err := decodeGeneric(data)
		if !ok {
			continue
		}
		if err != nil {
			t.Fatalf("%s: fast path decoded what encoding/json refuses: %v", data, err)
		}
		sameFields(t, data, fast, generic, n)
		if !bytes.Equal(lj, glj) {
			t.Fatalf("%s: layers %s, generic %s", data, lj, glj)
		}
	}
}

// TestDecodeFastTakesCommonMessage checks the fast path is taken for what
// workers publish, and declines what it must leave to encoding/json.
func TestDecodeFastTakesCommonMessage(t *testing.T) {
	if _, _, _, ok := decodeFast(benchMessage(t)); !ok {
		t.Fatalf("fast path declined a worker's message %s", benchMessage(t))
	}
	for _, data := range []string{
		`{"study":"s","layers":[{"dead_fraction":0.1,"no_such_field":1.5}]}`, // a layer field it does not know
		`{"study":"s","future_field":1}`,                                     // a key it does not know
		`{"Study":"s"}`,                                                      // another case
		`{"study":"s","study":"t"}`,                                          // repeated
		`{"study":"s\u00e9"}`,                                                // an escape
		`{"val_loss":1e400}`,                                                 // beyond float64
		`{"epoch":1.0}`,
		`{"epoch":12345678901234567890}`,
		`{"layers":[null]}`,
		`{"study":"s"} x`,
	} {
		if _, _, _, ok := decodeFast([]byte(data)); ok {
			t.Errorf("fast path took %s", data)
		}
	}
}

func fastSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{benchMessage(t), []byte(`{}`), []byte(` { "layers" : null , "lr": -0 } `),
		[]byte(`{"study":"s","study_id":1,"trial":3,"trial_id":42,"attempt":1,"worker":"w","epoch":2,"max_epochs":5,"time":"2026-01-01T00:00:00Z","train_samples_per_sec":12.5,"layers":[]}`),
		[]byte(`{"samples_per_sec":1,"train_samples_per_sec":2,"layers":[{"dead_fraction":1e-7,"prelu_slope":0.25,"act_mean":-1e21,"grad_norm":null},{}]}`),
		[]byte(`{"val_loss":1E+2,"val_accuracy":0.000001,"saturation":123456789012345678901234567890,"epoch":-0,"trial":-12}`),
		body(t, nil), body(t, map[string]any{"layers": []any{}}), body(t, map[string]any{"worker": "w\x00x"})}
	return seeds
}

// FuzzDecodeFast: wherever the fast decoder does not decline, it gives
// what encoding/json gives.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range fastSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, lj, n, ok := decodeFast(data)
		if !ok {
			return
		}
		generic, glj, err := decodeGeneric(data)
		if err != nil {
			t.Fatalf("%q: fast path decoded what encoding/json refuses: %v", data, err)
		}
		sameFields(t, data, fast, generic, n)
		if !bytes.Equal(lj, glj) {
			t.Fatalf("%q: layers %s, generic %s", data, lj, glj)
		}
		if !reflect.DeepEqual(fast.metricIdentity, generic.metricIdentity) {
			t.Fatal("identity differs")
		}
	})
}
