package integration

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/telemetry/telemetrytest"
)

// TestMetricsFollowAStudy runs a study of four three-epoch trials on two
// workers and scrapes the controller's and the workers' /metrics: every
// outcome, epoch, checkpoint and metric row is counted once, and the
// Temporal calls, heartbeats included, are timed.
func TestMetricsFollowAStudy(t *testing.T) {
	e := Start(t, 2)
	ctl := httptest.NewServer(e.ControllerMetrics.Handler())
	defer ctl.Close()
	wrk := httptest.NewServer(e.WorkerMetrics.Handler())
	defer wrk.Close()

	name := "it-metrics-" + e.DBName[len("relutune_it_"):]
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, fourTrials)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" || res.Counts["complete"] != 4 {
		t.Fatalf("study result %+v, want complete with 4 complete trials", res)
	}

	// The sink writes asynchronously: wait for its twelve rows.
	var c telemetrytest.Families
	for deadline := time.Now().Add(30 * time.Second); ; {
		c = telemetrytest.Scrape(t, ctl.URL)
		if rows, _ := c.Value("relutune_sink_rows_written_total"); rows >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink did not report 12 rows written within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, _ := c.Value("relutune_trials_recorded_total", "state", "complete"); v != 4 {
		t.Errorf("controller: %v complete outcomes recorded, want 4", v)
	}
	if v, _ := c.Value("relutune_trials", "state", "complete"); v != 4 {
		t.Errorf("controller: %v stored trials complete, want 4", v)
	}
	if v, _ := c.Value("relutune_sink_dead_letters_total"); v != 0 {
		t.Errorf("controller: %v dead letters, want 0", v)
	}
	if n, _, _ := c.Histogram("relutune_sink_lag_seconds"); n == 0 {
		t.Error("controller: no sink lag observed")
	}
	if n, _, _ := c.Histogram("relutune_temporal_request_duration_seconds", "method", "RespondWorkflowTaskCompleted", "code", "OK"); n == 0 {
		t.Error("controller: no workflow task completion timed")
	}

	w := telemetrytest.Scrape(t, wrk.URL)
	for _, h := range []string{"relutune_epoch_duration_seconds", "relutune_epoch_samples_per_second"} {
		if n, _, _ := w.Histogram(h); n != 12 {
			t.Errorf("workers: %s has %d observations, want 12 (4 trials x 3 epochs)", h, n)
		}
	}
	if n, _, _ := w.Histogram("relutune_checkpoint_write_duration_seconds", "result", "ok"); n != 12 {
		t.Errorf("workers: %d checkpoints written, want 12", n)
	}
	if v, _ := w.Value("relutune_trial_attempts_started_total"); v != 4 {
		t.Errorf("workers: %v attempts started, want 4", v)
	}
	if v, _ := w.Value("relutune_trials_running"); v != 0 {
		t.Errorf("workers: %v trials running after the study, want 0", v)
	}
	if n, _, _ := w.Histogram("relutune_heartbeat_duration_seconds"); n == 0 {
		t.Error("workers: no heartbeat timed")
	}
}
