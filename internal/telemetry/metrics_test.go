package telemetry_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/telemetry/telemetrytest"
)

// TestRolesExportTheirOwnMetrics: a controller serves the sink's and the
// recorded trials' metrics, a worker the training ones, both the Temporal
// client's and the Go runtime's.
func TestRolesExportTheirOwnMetrics(t *testing.T) {
	for _, tc := range []struct {
		role      telemetry.Role
		want, not []string
	}{
		{telemetry.Controller,
			[]string{"relutune_sink_batch_rows", "relutune_sink_lag_seconds", "relutune_sink_pending_messages", "go_goroutines"},
			[]string{"relutune_epoch_duration_seconds", "relutune_trials_running"}},
		{telemetry.Worker,
			[]string{"relutune_epoch_duration_seconds", "relutune_epoch_samples_per_second", "relutune_trials_running",
				"relutune_heartbeat_duration_seconds", "relutune_checkpoint_write_duration_seconds", "go_goroutines"},
			[]string{"relutune_sink_batch_rows", "relutune_sink_dead_letters_total"}},
	} {
		srv := httptest.NewServer(telemetry.New(tc.role).Handler())
		fams := telemetrytest.Scrape(t, srv.URL)
		srv.Close()
		for _, name := range tc.want {
			if !fams.Has(name) {
				t.Errorf("role %d: %s not exported", tc.role, name)
			}
		}
		for _, name := range tc.not {
			if fams.Has(name) {
				t.Errorf("role %d: %s exported; it belongs to the other role", tc.role, name)
			}
		}
	}
}

func TestSinkMetricsChangeWithBatches(t *testing.T) {
	m := telemetry.New(telemetry.Controller)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	m.SinkBatch(40, time.Now().Add(-2*time.Second), 7)
	m.SinkBatch(10, time.Time{}, -1) // no metadata: lag and pending unchanged
	m.DeadLetters(3)
	m.DeadLetters(0)
	m.TrialRecorded("complete")
	m.TrialRecorded("complete")
	m.TrialRecorded("diverged")

	f := telemetrytest.Scrape(t, srv.URL)
	if n, sum, _ := f.Histogram("relutune_sink_batch_rows"); n != 2 || sum != 50 {
		t.Errorf("batch rows: %d batches, %v rows; want 2, 50", n, sum)
	}
	if v, _ := f.Value("relutune_sink_rows_written_total"); v != 50 {
		t.Errorf("rows written %v, want 50", v)
	}
	if n, sum, _ := f.Histogram("relutune_sink_lag_seconds"); n != 1 || sum < 2 {
		t.Errorf("lag: %d observations summing to %vs; want 1 of at least 2s", n, sum)
	}
	if v, _ := f.Value("relutune_sink_pending_messages"); v != 7 {
		t.Errorf("pending %v, want 7", v)
	}
	if v, _ := f.Value("relutune_sink_dead_letters_total"); v != 3 {
		t.Errorf("dead letters %v, want 3", v)
	}
	for state, want := range map[string]float64{"complete": 2, "diverged": 1} {
		if v, _ := f.Value("relutune_trials_recorded_total", "state", state); v != want {
			t.Errorf("trials recorded %s: %v, want %v", state, v, want)
		}
	}
}

func TestWorkerMetricsChangeWithTrials(t *testing.T) {
	m := telemetry.New(telemetry.Worker)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	ended := m.TrialStarted()
	ep := m.EpochTimer()
	ep.Epoch(50_000)
	ep.Epoch(0) // no throughput reported: duration only
	m.CheckpointWritten(time.Now(), nil)
	m.CheckpointWritten(time.Now(), errors.New("disk full"))

	f := telemetrytest.Scrape(t, srv.URL)
	if v, _ := f.Value("relutune_trials_running"); v != 1 {
		t.Errorf("running %v during the trial, want 1", v)
	}
	if n, _, _ := f.Histogram("relutune_epoch_duration_seconds"); n != 2 {
		t.Errorf("epoch durations %d, want 2", n)
	}
	if n, sum, _ := f.Histogram("relutune_epoch_samples_per_second"); n != 1 || sum != 50_000 {
		t.Errorf("samples/s: %d observations summing to %v; want 1 of 50000", n, sum)
	}
	for _, result := range []string{"ok", "error"} {
		if n, _, _ := f.Histogram("relutune_checkpoint_write_duration_seconds", "result", result); n != 1 {
			t.Errorf("checkpoint writes with result %s: %d, want 1", result, n)
		}
	}

	ended()
	f = telemetrytest.Scrape(t, srv.URL)
	if v, _ := f.Value("relutune_trials_running"); v != 0 {
		t.Errorf("running %v after the trial, want 0", v)
	}
	if v, _ := f.Value("relutune_trial_attempts_started_total"); v != 1 {
		t.Errorf("attempts started %v, want 1", v)
	}
}

// TestInterceptorTimesHeartbeatsAndSkipsPolls drives the gRPC interceptor
// the Temporal client is dialed with.
func TestInterceptorTimesHeartbeatsAndSkipsPolls(t *testing.T) {
	m := telemetry.New(telemetry.Worker)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	icpt := m.UnaryClientInterceptor()
	call := func(method string, err error) {
		invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return err }
		if got := icpt(context.Background(), method, nil, nil, nil, invoker); !errors.Is(got, err) {
			t.Fatalf("%s: interceptor returned %v, want %v", method, got, err)
		}
	}
	const svc = "/temporal.api.workflowservice.v1.WorkflowService/"
	call(svc+"RecordActivityTaskHeartbeat", nil)
	call(svc+"RecordActivityTaskHeartbeat", status.Error(codes.NotFound, "activity gone"))
	call(svc+"RespondActivityTaskCompleted", nil)
	call(svc+"PollActivityTaskQueue", nil)

	f := telemetrytest.Scrape(t, srv.URL)
	if n, _, _ := f.Histogram("relutune_heartbeat_duration_seconds"); n != 2 {
		t.Errorf("heartbeats timed %d, want 2", n)
	}
	for _, tc := range []struct {
		method, code string
		want         uint64
	}{
		{"RecordActivityTaskHeartbeat", "OK", 1},
		{"RecordActivityTaskHeartbeat", "NotFound", 1},
		{"RespondActivityTaskCompleted", "OK", 1},
		{"PollActivityTaskQueue", "OK", 0},
	} {
		n, _, _ := f.Histogram("relutune_temporal_request_duration_seconds", "method", tc.method, "code", tc.code)
		if n != tc.want {
			t.Errorf("%s %s: %d requests timed, want %d", tc.method, tc.code, n, tc.want)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *telemetry.Metrics
	m.TrialRecorded("complete")
	m.TrialStarted()()
	m.EpochTimer().Epoch(1)
	m.CheckpointWritten(time.Now(), nil)
	m.SinkBatch(1, time.Now(), 1)
	m.DeadLetters(1)
	if m.UnaryClientInterceptor() != nil {
		t.Error("a nil *Metrics returned an interceptor")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil metrics handler answered %d, want 404", rec.Code)
	}
}

func TestTrialStatesAreCountedAtScrape(t *testing.T) {
	m := telemetry.New(telemetry.Controller)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	calls := 0
	var fail error
	m.WatchTrialStates(func(context.Context) (map[string]int64, error) {
		calls++
		if fail != nil {
			return nil, fail
		}
		return map[string]int64{"running": 3, "complete": 10}, nil
	})
	f := telemetrytest.Scrape(t, srv.URL)
	for state, want := range map[string]float64{"running": 3, "complete": 10} {
		if v, _ := f.Value("relutune_trials", "state", state); v != want {
			t.Errorf("trials %s: %v, want %v", state, v, want)
		}
	}
	// A second scrape within the cache window does not count again.
	telemetrytest.Scrape(t, srv.URL)
	if calls != 1 {
		t.Errorf("counted %d times for two scrapes in a row, want 1", calls)
	}
}

func TestTrialStatesKeepTheLastCountOnError(t *testing.T) {
	m := telemetry.New(telemetry.Controller)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	m.WatchTrialStates(func(context.Context) (map[string]int64, error) {
		return nil, errors.New("database down")
	})
	f := telemetrytest.Scrape(t, srv.URL)
	if f.Has("relutune_trials") {
		t.Error("trials by state exported without any good count")
	}
	if v, _ := f.Value("relutune_trial_state_errors_total"); v != 1 {
		t.Errorf("state count errors %v, want 1", v)
	}
}
