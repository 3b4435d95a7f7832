package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/trainer"
)

const testSubject = "tune.study.s.trial.3.metrics"

// body is a valid metrics message for testSubject with fields overridden.
func body(t testing.TB, override map[string]any) []byte {
	t.Helper()
	m := map[string]any{"study": "s", "study_id": 1, "trial": 3, "trial_id": 42, "attempt": 1, "worker": "w1",
		"epoch": 2, "max_epochs": 5, "activation": "relu", "val_accuracy": 0.5, "train_loss": nil,
		"layers": []any{map[string]any{"dead_fraction": 0.25}}}
	for k, v := range override {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMetricRowRejectsPoison(t *testing.T) {
	var c events.Config
	long := strings.Repeat("x", events.MaxWorkerBytes+1)
	for _, tc := range []struct {
		name, subject string
		data          []byte
		want          string
	}{
		{"epoch 2^31", testSubject, body(t, map[string]any{"epoch": int64(1) << 31}), "epoch 2147483648 must be in [1, 1000]"},
		{"epoch 0", testSubject, body(t, map[string]any{"epoch": 0}), "epoch 0 must be in [1, 1000]"},
		{"epoch absent", testSubject, body(t, map[string]any{"epoch": nil}), "epoch 0 must be in [1, 1000]"},
		{"epoch beyond int64", testSubject, []byte(`{"study":"s","trial":3,"trial_id":42,"attempt":1,"epoch":1e30}`), "not a metrics message"},
		{"attempt 3e9", testSubject, body(t, map[string]any{"attempt": int64(3e9)}), "attempt 3000000000 must be in [1, 100]"},
		{"attempt 0", testSubject, body(t, map[string]any{"attempt": 0}), "attempt 0 must be in [1, 100]"},
		{"attempt negative", testSubject, body(t, map[string]any{"attempt": -1}), "attempt -1 must be in [1, 100]"},
		{"NUL in worker", testSubject, body(t, map[string]any{"worker": "w\x00x"}), "must not contain a NUL byte"},
		{"long worker", testSubject, body(t, map[string]any{"worker": long}), "worker is 257 bytes, at most 256 allowed"},
		{"long activation", testSubject, body(t, map[string]any{"activation": long}), "activation is 257 bytes, at most 64 allowed"},
		{"NUL in activation", testSubject, body(t, map[string]any{"activation": "re\x00lu"}), "must not contain a NUL byte"},
		{"trial_id 0", testSubject, body(t, map[string]any{"trial_id": 0}), "trial_id 0 must be > 0"},
		{"negative study_id", testSubject, body(t, map[string]any{"study_id": -4}), "study_id -4 must be >= 0"},
		{"too many layers", testSubject, body(t, map[string]any{"layers": make([]any, events.MaxLayers+1)}), "65 layers, at most 64 allowed"},
		{"not JSON", testSubject, []byte("\xff\x00 garbage"), "not a metrics message"},
		{"empty", testSubject, nil, "not a metrics message"},
		{"array", testSubject, []byte(`[1, 2, 3]`), "not a metrics message"},
		{"string", testSubject, []byte(`"metrics"`), "not a metrics message"},
		{"null", testSubject, []byte(`null`), "study \"\" in the message is not \"s\""},
		{"epoch a string", testSubject, body(t, map[string]any{"epoch": "2"}), "not a metrics message"},
		{"epoch fractional", testSubject, body(t, map[string]any{"epoch": 2.5}), "not a metrics message"},
		{"value a string", testSubject, body(t, map[string]any{"val_loss": "0.5"}), "not a metrics message"},
		{"value a bool", testSubject, body(t, map[string]any{"val_loss": true}), "not a metrics message"},
		{"layers an object", testSubject, body(t, map[string]any{"layers": map[string]any{}}), "not a metrics message"},
		{"trailing garbage", testSubject, append(body(t, nil), " x"...), "not a metrics message"},
		{"huge", testSubject, body(t, map[string]any{"pad": strings.Repeat("x", events.MaxMessageBytes)}), "at most 65536 allowed"},
		{"study mismatch", testSubject, body(t, map[string]any{"study": "b"}), `study "b" in the message is not "s"`},
		{"trial mismatch", testSubject, body(t, map[string]any{"trial": 4}), "trial 4 in the message is not 3"},
		{"subject of another prefix", "other.study.s.trial.3.metrics", body(t, nil), "is not tune.study.<study>.trial.<trial>.metrics"},
		{"subject status", "tune.study.s.trial.3.status", body(t, nil), "is not tune.study"},
		{"subject bad study", "tune.study.S_1.trial.3.metrics", body(t, nil), "is not a study name"},
		{"subject trial not a number", "tune.study.s.trial.x.metrics", body(t, nil), "must be a number in [0, 2147483647]"},
		{"subject trial padded", "tune.study.s.trial.03.metrics", body(t, nil), "must be a number"},
		{"subject trial 2^31", "tune.study.s.trial.2147483648.metrics", body(t, map[string]any{"trial": int64(1) << 31}), "must be a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMetricRow(c, tc.subject, tc.data)
			if !errors.Is(err, events.ErrPoison) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want events.ErrPoison with %q", err, tc.want)
			}
		})
	}
}

func TestDecodeMetricRowAcceptsAndNullsNonFinite(t *testing.T) {
	var c events.Config
	d, err := DecodeMetricRow(c, testSubject, []byte(`{"study":"s","study_id":1,"trial":3,"trial_id":42,"attempt":2,"epoch":2,
		"val_accuracy":0.5,"train_loss":null,"val_loss":1e999,"lr":-1e400,"grad_norm":1e-400,"unknown":{"x":[1]},
		"layers":[{"dead_fraction":0.25,"act_std":1e999}],"time":"not checked"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := d.Row
	if d.Study != "s" || d.Trial != 3 || d.StudyID != 1 || r.TrialID != 42 || r.Epoch != 2 || r.Attempt != 2 {
		t.Fatalf("decoded %+v", d)
	}
	if *r.ValAccuracy != 0.5 || r.TrainLoss != nil || r.ValLoss != nil || r.LR != nil || r.GradNorm == nil || *r.GradNorm != 0 {
		t.Fatalf("values: acc %v train %v val %v lr %v grad %v; want 0.5, null, null (overflow), null, 0 (underflow)",
			r.ValAccuracy, r.TrainLoss, r.ValLoss, r.LR, r.GradNorm)
	}
	if string(r.Layers) != `[{"dead_fraction":0.25,"saturation":null,"act_mean":null,"act_std":null,"grad_norm":null}]` {
		t.Fatalf("layers %s", r.Layers)
	}
	// No layers is an empty array, never JSON null.
	d, err = DecodeMetricRow(c, testSubject, body(t, map[string]any{"layers": nil}))
	if err != nil || string(d.Row.Layers) != "[]" {
		t.Fatalf("no layers: %s, %v", d.Row.Layers, err)
	}
}

// TestDecodeMetricRowReadsWhatWorkersPublish decodes the message a worker
// builds (SetTrainerMetrics, NaN included) and finds every value.
func TestDecodeMetricRowReadsWhatWorkersPublish(t *testing.T) {
	slope := 0.2
	m := events.EpochMetrics{Study: "s", StudyID: 1, Trial: 3, TrialID: 42, Attempt: 2, Worker: "host-1", MaxEpochs: 20, Activation: "prelu"}
	m.SetTrainerMetrics(trainer.EpochMetrics{Epoch: 7, TrainLoss: 0.5, ValLoss: math.NaN(), ValAccuracy: 0.9, SamplesPerSec: 1e4, LR: 1e-3,
		Layers: []trainer.LayerStats{{DeadFraction: 0.1, Saturation: 0.2, ActMean: 0.3, ActStd: 0.4, GradNorm: 3, PReLUSlope: &slope},
			{DeadFraction: 0.3, Saturation: math.Inf(1), GradNorm: 4}}})
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeMetricRow(events.Config{}, events.Config{}.MetricsSubject("s", 3), data)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Row
	if r.Epoch != 7 || r.Attempt != 2 || r.Worker != "host-1" || *r.TrainLoss != 0.5 || r.ValLoss != nil || *r.ValAccuracy != 0.9 ||
		*r.SamplesPerSec != 1e4 || *r.LR != 1e-3 || *r.DeadFraction != *m.DeadFraction || *r.GradNorm != 5 || r.Saturation != nil {
		t.Fatalf("decoded %+v from %s", r, data)
	}
	want, _ := json.Marshal(m.Layers)
	if !bytes.Equal(r.Layers, want) {
		t.Fatalf("layers %s, want %s", r.Layers, want)
	}
}

// TestDecodeMetricRowReadsOlderWorkers: samples_per_sec under the name an
// older worker gave it is still stored, on both decoding paths (the
// second message overflows a value, so it takes the tolerant one); the
// shared name wins where a message has both.
func TestDecodeMetricRowReadsOlderWorkers(t *testing.T) {
	for _, tc := range []struct {
		name string
		over map[string]any
		want float64
	}{
		{"legacy key", map[string]any{"train_samples_per_sec": 1234.5}, 1234.5},
		{"legacy key, overflow elsewhere", map[string]any{"train_samples_per_sec": 99.0, "val_loss": json.RawMessage("1e999")}, 99},
		{"both keys", map[string]any{"train_samples_per_sec": 1.0, "samples_per_sec": 2.0}, 2},
		{"shared key, overflow elsewhere", map[string]any{"samples_per_sec": 3.0, "lr": json.RawMessage("-1e999")}, 3},
	} {
		d, err := DecodeMetricRow(events.Config{}, testSubject, body(t, tc.over))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d.Row.SamplesPerSec == nil || *d.Row.SamplesPerSec != tc.want {
			t.Errorf("%s: samples_per_sec %v, want %v", tc.name, d.Row.SamplesPerSec, tc.want)
		}
		if *d.Row.ValAccuracy != 0.5 {
			t.Errorf("%s: val_accuracy %v, want 0.5", tc.name, *d.Row.ValAccuracy)
		}
	}
	// A value that is not a number is still refused on the tolerant path.
	if _, err := DecodeMetricRow(events.Config{}, testSubject, body(t, map[string]any{"lr": "fast", "val_loss": json.RawMessage("1e999")})); !errors.Is(err, events.ErrPoison) {
		t.Errorf("lr \"fast\": %v, want poison", err)
	}
}
func TestCheckTrial(t *testing.T) {
	d := DecodedMetric{Study: "a", Trial: 2, StudyID: 7, Row: store.MetricRow{TrialID: 42, Epoch: 5, Attempt: 1}}
	ref := store.TrialRef{ID: 42, StudyID: 7, Study: "a", Number: 2, MaxEpochs: 5}
	if err := checkTrial(d, ref, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*DecodedMetric, *store.TrialRef, *bool)
		want string
	}{
		{"missing", func(_ *DecodedMetric, _ *store.TrialRef, ok *bool) { *ok = false }, "trial_id 42 names no stored trial"},
		{"other study", func(_ *DecodedMetric, r *store.TrialRef, _ *bool) { r.Study = "b" }, `trial_id 42 is trial 2 of study "b", not of study "a"`},
		{"other number", func(_ *DecodedMetric, r *store.TrialRef, _ *bool) { r.Number = 9 }, `trial_id 42 is trial 9 of study "a", not trial 2`},
		{"other study id", func(d *DecodedMetric, _ *store.TrialRef, _ *bool) { d.StudyID = 8 }, `study_id 8 is not the id of study "a" (7)`},
		{"past max epochs", func(d *DecodedMetric, _ *store.TrialRef, _ *bool) { d.Row.Epoch = 6 }, `epoch 6 must be in [1, 5], study "a"'s schedule.max_epochs`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ref, ok := d, ref, true
			tc.edit(&d, &ref, &ok)
			if err := checkTrial(d, ref, ok); !errors.Is(err, events.ErrPoison) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// splitWriter rejects (store.ErrRejected) every batch that holds a row
// whose worker is "bad", fails its first transient calls with a connection
// error, and stores the rest.
type splitWriter struct {
	transient int
	calls     int
	written   map[int]bool // by epoch
}

func (w *splitWriter) WriteMetrics(ctx context.Context, rows []store.MetricRow) (int64, error) {
	w.calls++
	if w.calls <= w.transient {
		return 0, errors.New("store: write: dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	for _, r := range rows {
		if r.Worker == "bad" {
			return 0, fmt.Errorf("%w: row with epoch %d", store.ErrRejected, r.Epoch)
		}
	}
	for _, r := range rows {
		w.written[r.Epoch] = true
	}
	return int64(len(rows)), nil
}

func TestWriteSplitIsolatesRejectedRows(t *testing.T) {
	const n = 100
	bad := map[int]bool{0: true, 37: true, 38: true, 99: true}
	rows := make([]store.MetricRow, n)
	for i := range rows {
		rows[i] = store.MetricRow{TrialID: 1, Epoch: i + 1, Attempt: 1}
		if bad[i] {
			rows[i].Worker = "bad"
		}
	}
	w := &splitWriter{transient: 3, written: map[int]bool{}}
	waits := 0
	rejected, err := writeSplit(context.Background(), w, rows, func(int, error) { waits++ })
	if err != nil {
		t.Fatal(err)
	}
	if waits != 3 {
		t.Errorf("waited %d times, want 3 (once per transient failure)", waits)
	}
	if len(rejected) != len(bad) {
		t.Errorf("rejected %v, want exactly rows %v", rejected, bad)
	}
	for i := range rows {
		_, rej := rejected[i]
		if rej != bad[i] || w.written[i+1] == bad[i] {
			t.Errorf("row %d: rejected %v, written %v; bad %v", i, rej, w.written[i+1], bad[i])
		}
		if rej && !errors.Is(rejected[i], events.ErrPoison) {
			t.Errorf("row %d: %v does not wrap events.ErrPoison", i, rejected[i])
		}
	}
	// Bisection costs O(bad * log n) writes, not one per row.
	if maxCalls := 3 + 1 + 2*len(bad)*7; w.calls > maxCalls {
		t.Errorf("%d writes for %d rows with %d bad, want at most %d", w.calls, n, len(bad), maxCalls)
	}
}

func TestWriteSplitNeverRejectsOnTransientErrors(t *testing.T) {
	rows := []store.MetricRow{{TrialID: 1, Epoch: 1, Attempt: 1}}
	w := &splitWriter{transient: 1 << 30, written: map[int]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	waits := 0
	rejected, err := writeSplit(ctx, w, rows, func(int, error) {
		if waits++; waits == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || rejected != nil || len(w.written) != 0 {
		t.Fatalf("got %v, %v, written %v; want the context's error and nothing rejected", rejected, err, w.written)
	}
}

// FuzzDecodeMetricRow checks that no input panics the decoder and that a
// row it accepts is within every bound the store enforces.
func FuzzDecodeMetricRow(f *testing.F) {
	f.Add(testSubject, body(f, nil))
	f.Add(testSubject, body(f, map[string]any{"epoch": int64(1) << 31}))
	f.Add(testSubject, body(f, map[string]any{"worker": "w\x00"}))
	f.Add("tune.study.s.trial.x.metrics", []byte(`{}`))
	f.Add("a-"+strings.Repeat("b", 61), []byte(`{}`))
	f.Add("-a", []byte(`{}`))
	f.Add(testSubject, []byte(`{"study":"s","trial":3,"trial_id":1,"attempt":1,"epoch":1,"val_loss":1e999,"layers":[{"act_mean":-0}]}`))
	var c events.Config
	rule := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		if _, _, err := c.ParseMetricsSubject(c.MetricsSubject(subject, 1)); (err == nil) != rule.MatchString(subject) {
			t.Fatalf("study %q in a subject: error %v, the rule says valid=%v", subject, err, rule.MatchString(subject))
		}
		d, err := DecodeMetricRow(c, subject, data)
		if err != nil {
			if !errors.Is(err, events.ErrPoison) {
				t.Fatalf("error %v does not wrap events.ErrPoison", err)
			}
			return
		}
		study, trial, serr := c.ParseMetricsSubject(subject)
		if serr != nil || d.Study != study || d.Trial != trial {
			t.Fatalf("accepted %q as study %q trial %d; subject parses as %q %d %v", subject, d.Study, d.Trial, study, trial, serr)
		}
		r := d.Row
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted a row the store refuses: %v", err)
		}
		if len(data) > events.MaxMessageBytes || r.TrialID <= 0 || r.Epoch < 1 || r.Epoch > events.MaxEpoch ||
			r.Attempt < 1 || r.Attempt > events.MaxAttempt || len(r.Worker) > events.MaxWorkerBytes ||
			strings.IndexByte(r.Worker, 0) >= 0 || !utf8.ValidString(r.Worker) {
			t.Fatalf("accepted an out-of-bounds row %+v", r)
		}
		for _, v := range []*float64{r.TrainLoss, r.ValLoss, r.ValAccuracy, r.DeadFraction, r.Saturation, r.GradNorm, r.SamplesPerSec, r.LR} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				t.Fatalf("accepted a non-finite value in %+v", r)
			}
		}
		var layers []map[string]*float64
		if err := json.Unmarshal(r.Layers, &layers); err != nil || len(layers) > events.MaxLayers {
			t.Fatalf("layers %s: %v", r.Layers, err)
		}
	})
}
