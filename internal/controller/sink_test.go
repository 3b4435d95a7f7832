package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
)

// fakeWriter records rows by (trial, epoch) and fails its first calls. It
// knows trial id n as trial n of study "s".
type fakeWriter struct {
	mu       sync.Mutex
	failures int
	calls    int
	rows     map[[2]int64]store.MetricRow
	dead     []store.DeadLetter
}

func (w *fakeWriter) TrialRefs(ctx context.Context, ids []int64) (map[int64]store.TrialRef, error) {
	out := map[int64]store.TrialRef{}
	for _, id := range ids {
		out[id] = store.TrialRef{ID: id, StudyID: 1, Study: "s", Number: int(id), MaxEpochs: events.MaxEpoch}
	}
	return out, nil
}

func (w *fakeWriter) WriteDeadLetters(ctx context.Context, dls []store.DeadLetter) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dead = append(w.dead, dls...)
	return nil
}

func (w *fakeWriter) WriteMetrics(ctx context.Context, rows []store.MetricRow) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.calls <= w.failures {
		return 0, errors.New("database unavailable")
	}
	for _, r := range rows {
		w.rows[[2]int64{r.TrialID, int64(r.Epoch)}] = r
	}
	return int64(len(rows)), nil
}

func (w *fakeWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rows)
}

func testConfig(t *testing.T) events.Config {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no NATS")
	}
	tag := fmt.Sprintf("%d%06d", os.Getpid()%10000, rand.IntN(1_000_000))
	return events.Config{Stream: "RELUTUNE_T_" + tag, Prefix: "tunet" + tag}
}

func TestSinkWritesEveryEpochOnceAfterFailures(t *testing.T) {
	cfg := testConfig(t)
	nc, js, err := events.Connect(process.Env(process.EnvNATSURL, process.DefaultNATSURL), "sink-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), cfg.Stream)

	pub := events.NewPublisher(js, cfg)
	const trials, epochs = 3, 40
	for tr := 1; tr <= trials; tr++ {
		for e := 1; e <= epochs; e++ {
			m := events.EpochMetrics{Study: "s", TrialID: int64(tr), Trial: tr, Epoch: e, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: events.Finite(float64(e) / 100)}}
			if err := pub.PublishMetrics(ctx, m); err != nil {
				t.Fatal(err)
			}
			if e%10 == 0 { // a publisher retry: dropped by the duplicate window
				if err := pub.PublishMetrics(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	info, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if si, _ := info.Info(ctx); si.State.Msgs != trials*epochs {
		t.Fatalf("stream holds %d messages, want %d (duplicates dropped by Nats-Msg-Id)", si.State.Msgs, trials*epochs)
	}

	w := &fakeWriter{failures: 2, rows: map[[2]int64]store.MetricRow{}}
	baseline := runtime.NumGoroutine()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&Sink{JS: js, Config: cfg, Writer: w, Batch: 25, MaxWait: 50 * time.Millisecond}).Run(sctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for w.count() < trials*epochs && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := w.count(); got != trials*epochs {
		t.Fatalf("wrote %d rows, want %d", got, trials*epochs)
	}
	w.mu.Lock()
	dead := w.dead
	w.mu.Unlock()
	if len(dead) != 0 {
		t.Fatalf("dead-lettered %d messages after transient failures, want none: %+v", len(dead), dead[0])
	}
	// Everything is acked once written: the consumer has nothing pending.
	var pending uint64
	for time.Now().Before(deadline) {
		c, err := js.Consumer(ctx, cfg.Stream, "relutune-sink")
		if err != nil {
			t.Fatal(err)
		}
		ci, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pending = uint64(ci.NumAckPending) + ci.NumPending
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pending != 0 {
		t.Fatalf("%d messages still pending after all rows were written", pending)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sink did not stop after cancellation")
	}
	// The sink's goroutines are gone once Run returns.
	for i := 0; runtime.NumGoroutine() > baseline && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after the sink stopped, %d before it started:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
