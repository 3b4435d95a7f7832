package worker

import (
	"net/http/httptest"
	"testing"

	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/telemetry/telemetrytest"
)

// TestTrainTrialReportsMetrics trains a trial with metrics on and scrapes
// them: one epoch duration and throughput per epoch, one checkpoint write
// per epoch, one attempt started and none left running.
func TestTrainTrialReportsMetrics(t *testing.T) {
	m := telemetry.New(telemetry.Worker)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	before := telemetrytest.Scrape(t, srv.URL)
	if n, _, ok := before.Histogram("relutune_epoch_duration_seconds"); !ok || n != 0 {
		t.Fatalf("epoch durations before training: %d (exported %v), want 0", n, ok)
	}

	a := &Activities{Publisher: &memPublisher{}, CheckpointDir: t.TempDir(), Worker: "w1", Metrics: m}
	out, err := runTrain(t, a, trainInput(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.EpochsDone != 3 {
		t.Fatalf("trained %d epochs, want 3", out.EpochsDone)
	}

	f := telemetrytest.Scrape(t, srv.URL)
	if n, sum, _ := f.Histogram("relutune_epoch_duration_seconds"); n != 3 || sum <= 0 {
		t.Errorf("epoch durations: %d summing to %vs; want 3, positive", n, sum)
	}
	if n, sum, _ := f.Histogram("relutune_epoch_samples_per_second"); n != 3 || sum <= 0 {
		t.Errorf("epoch throughputs: %d summing to %v; want 3, positive", n, sum)
	}
	if n, _, _ := f.Histogram("relutune_checkpoint_write_duration_seconds", "result", "ok"); n != 3 {
		t.Errorf("checkpoint writes: %d, want 3 (one per epoch)", n)
	}
	if v, _ := f.Value("relutune_trial_attempts_started_total"); v != 1 {
		t.Errorf("attempts started %v, want 1", v)
	}
	if v, _ := f.Value("relutune_trials_running"); v != 0 {
		t.Errorf("trials running %v after the trial ended, want 0", v)
	}
}
