// Package integration runs relutune against the real Temporal dev server,
// NATS JetStream and Postgres that `.ci/run` (or `make services`) starts.
// Each test run uses its own database, task queues, stream and subject
// prefix, so it never meets a running local cluster's data.
//
// Set RELUTUNE_SKIP_INTEGRATION=1 to skip these tests on a machine without
// the services; CI never sets it.
package integration

import (
	"io/fs"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relutune/relutune/migrations"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/root"
	"github.com/relutune/relutune/internal/controller"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/worker"
)

// Env is one isolated relutune deployment inside the test process.
type Env struct {
	Conn         process.Connections
	Events       events.Config
	StudiesQueue string
	TrialsQueue  string
	DBName       string
	// ControllerMetrics and WorkerMetrics are what the controller and the
	// workers (all of them together) report on /metrics.
	ControllerMetrics *telemetry.Metrics
	WorkerMetrics     *telemetry.Metrics

	t        testing.TB
	ctx      context.Context
	log      *slog.Logger
	wg       sync.WaitGroup
	errs     chan error
	ckpt     string
	mu       sync.Mutex
	workers  []context.CancelFunc
	nWorkers int
	// objects, when set, is the object-store bucket workers started from
	// then on keep checkpoints in (see UseObjectStore).
	objects string
}

// UseObjectStore makes the workers started from now on keep checkpoints in
// a JetStream object-store bucket of this test instead of the shared
// directory; the bucket is deleted when the test ends.
func (e *Env) UseObjectStore(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.objects = strings.ToLower("it-ckpt-" + e.DBName[len("relutune_it_"):])
	bucket := e.objects
	t.Cleanup(func() {
		if nc, js, err := events.Connect(e.Conn.NATSURL, "it-cleanup"); err == nil {
			_ = js.DeleteObjectStore(context.Background(), bucket)
			nc.Close()
		}
	})
}

// StartWorker starts one more worker; all workers share a checkpoint
// directory, like replicas sharing a volume.
func (e *Env) StartWorker() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.nWorkers
	e.nWorkers++
	ctx, cancel := context.WithCancel(e.ctx)
	e.workers = append(e.workers, cancel)
	bucket := e.objects
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		conn := e.Conn
		conn.Telemetry.Metrics = e.WorkerMetrics
		cfg := worker.Config{
			Connections: conn, TrialsQueue: e.TrialsQueue, Events: e.Events,
			Name: fmt.Sprintf("it-worker-%d", i), CheckpointDir: e.ckpt,
		}
		if bucket != "" {
			cfg.CheckpointBackend, cfg.Checkpoints.Bucket = worker.BackendObjectStore, bucket
		}
		e.errs <- worker.Run(ctx, cfg, e.log.With("process", "worker", "i", i))
	}()
	return i
}

// StopWorker stops worker i as a shutdown would.
func (e *Env) StopWorker(i int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workers[i]()
}

func skipUnlessServices(t testing.TB) {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: Temporal, NATS and Postgres are not available")
	}
}

// Start brings up a controller and workers for one test and tears them
// down (and drops the database and stream) when it ends.
func Start(t testing.TB, workers int) *Env {
	t.Helper()
	skipUnlessServices(t)
	tag := fmt.Sprintf("%d%04d", os.Getpid()%100000, rand.IntN(10000))
	base := process.Env(process.EnvDatabaseURL, process.DefaultDatabaseURL)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	dbName := "relutune_it_" + tag
	e := &Env{
		Conn: process.Connections{
			DatabaseURL:       strings.Replace(base, "/"+cfg.Database+"?", "/"+dbName+"?", 1),
			NATSURL:           process.Env(process.EnvNATSURL, process.DefaultNATSURL),
			TemporalAddress:   process.Env(process.EnvTemporalAddress, process.DefaultTemporalAddress),
			TemporalNamespace: process.Env(process.EnvTemporalNamespace, process.DefaultTemporalNamespace),
		},
		Events:       events.Config{Stream: "RELUTUNE_IT_" + tag, Prefix: "tuneit" + tag},
		StudiesQueue: "it-studies-" + tag,
		TrialsQueue:  "it-trials-" + tag,
		DBName:       dbName,

		ControllerMetrics: telemetry.New(telemetry.Controller),
		WorkerMetrics:     telemetry.New(telemetry.Worker),
	}
	if !strings.Contains(e.Conn.DatabaseURL, dbName) {
		t.Fatalf("cannot derive a test database URL from %s", base)
	}
	e.t = t
	e.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	e.errs = make(chan error, 64)
	e.ckpt = t.TempDir()
	errs := e.errs
	ctlConn := e.Conn
	ctlConn.Telemetry.Metrics = e.ControllerMetrics
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		errs <- controller.Run(ctx, controller.Config{
			Connections: ctlConn, StudiesQueue: e.StudiesQueue, Events: e.Events, SinkDurable: "sink-" + tag,
		}, e.log.With("process", "controller"))
	}()
	for i := 0; i < workers; i++ {
		e.StartWorker()
	}
	t.Cleanup(func() {
		cancel()
		e.wg.Wait()
		close(errs)
		for err := range errs {
			// A process still starting (migrating, say) when a short
			// test ends sees its context canceled: that is no failure.
			// (Errors that pass through redact keep only the text.)
			if err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), context.Canceled.Error()) {
				t.Errorf("service: %v", err)
			}
		}
		bg := context.Background()
		if conn, err := pgx.Connect(bg, base); err == nil {
			_, _ = conn.Exec(bg, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
			conn.Close(bg)
		}
		if nc, js, err := events.Connect(e.Conn.NATSURL, "it-cleanup"); err == nil {
			_ = js.DeleteStream(bg, e.Events.Stream)
			nc.Close()
		}
	})
	// Wait until the controller has applied every migration: each one
	// commits on its own, so a first row does not mean the schema is whole.
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), e.Conn.DatabaseURL)
		if err == nil {
			var n int
			qerr := conn.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n)
			conn.Close(context.Background())
			if qerr == nil && n >= len(files) {
				break
			}
		}
		select {
		case err := <-errs:
			t.Fatalf("a service stopped while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not migrate %s within 60s", dbName)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e
}

// Tunectl runs a tunectl command line against the environment and returns
// its exit code and output.
func (e *Env) Tunectl(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	full := append([]string{
		"--database-url", e.Conn.DatabaseURL, "--nats-url", e.Conn.NATSURL,
		"--temporal-address", e.Conn.TemporalAddress, "--temporal-namespace", e.Conn.TemporalNamespace,
		"--studies-queue", e.StudiesQueue, "--trials-queue", e.TrialsQueue,
	}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code = root.ExecuteWith(ctx, io, full, func(f *cmdutil.Factory) { f.Events = e.Events })
	return code, out.String(), errOut.String()
}

// DB opens a connection to the test database.
func (e *Env) DB(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.Conn.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
