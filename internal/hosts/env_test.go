//go:build hosts && linux

package hosts

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/natstest"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/migrations"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// The machine every test of the package shares: the bridge and hosts,
// the Temporal dev server, and the binaries.
var (
	network     *Network
	temporal    *Temporal
	binDir      string
	nHosts      = 4 // the tests use 3, the benchmark up to 4
	temporalPrt = 17233
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "hosts: these tests build network namespaces and need root (CI runs as root); run `sudo make test-hosts`")
		return 1
	}
	lock, err := Lock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hosts:", err)
		return 1
	}
	defer lock.Close()
	Sweep()
	root, err := os.MkdirTemp("", "relutune-hosts-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hosts:", err)
		return 1
	}
	defer os.RemoveAll(root)
	binDir = filepath.Join(root, "bin")
	if err := buildBinaries(binDir); err != nil {
		fmt.Fprintln(os.Stderr, "hosts:", err)
		return 1
	}
	network, err = NewNetwork(nHosts, root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hosts: network:", err)
		return 1
	}
	defer network.Close()
	tbin, err := temporalBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hosts:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	temporal, err = StartTemporal(ctx, network.Services, tbin, temporalPrt)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hosts:", err)
		return 1
	}
	defer temporal.Close()
	return m.Run()
}

// moduleRoot is two levels up from this package.
func moduleRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// buildBinaries builds controller, worker and tunectl into dir.
func buildBinaries(dir string) error {
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/controller", "./cmd/worker", "./cmd/tunectl")
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build controller and worker: %w: %s", err, out)
	}
	return nil
}

// temporalBinary is RELUTUNE_TEMPORAL_BIN, or the dev server that
// scripts/stack.sh builds.
func temporalBinary() (string, error) {
	if b := os.Getenv("RELUTUNE_TEMPORAL_BIN"); b != "" {
		return b, nil
	}
	out, err := exec.Command(filepath.Join(moduleRoot(), "scripts", "stack.sh"), "temporal-binary").Output()
	if err != nil {
		return "", fmt.Errorf("scripts/stack.sh temporal-binary: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// env is one relutune deployment across the hosts: its own NATS on the
// bridge, database, task queues and controller, and a worker per host.
type env struct {
	t        testing.TB
	tag      string
	nats     *natstest.Server
	dbURL    string
	studiesQ string
	trialsQ  string
	ctrl     *Proc
	tc       client.Client
	workers  map[int]*Proc
}

func newEnv(t testing.TB, hosts int, workerArgs ...string) *env {
	t.Helper()
	tag := fmt.Sprintf("%d%04d", os.Getpid()%100000, rand.IntN(10000))
	base := process.Env(process.EnvDatabaseURL, process.DefaultDatabaseURL)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	dbName := "relutune_hosts_" + tag
	e := &env{
		t: t, tag: tag, nats: natstest.StartOn(t, BridgeIP),
		dbURL:    strings.Replace(base, "/"+cfg.Database+"?", "/"+dbName+"?", 1),
		studiesQ: "hosts-studies-" + tag, trialsQ: "hosts-trials-" + tag,
		workers: map[int]*Proc{},
	}
	if !strings.Contains(e.dbURL, dbName) {
		t.Fatalf("cannot derive a test database URL from %s", base)
	}
	t.Cleanup(func() {
		bg := context.Background()
		if conn, err := pgx.Connect(bg, base); err == nil {
			_, _ = conn.Exec(bg, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
			conn.Close(bg)
		}
	})
	tc, err := client.Dial(client.Options{HostPort: temporal.Addr, Logger: quietLog{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	e.tc = tc
	e.startController()
	e.waitMigrated()
	e.waitHealthy("the controller", "http://"+BridgeIP+":"+controllerHealthPort+"/healthz")
	for h := range hosts {
		e.startWorker(h, workerArgs...)
	}
	for h := range hosts {
		e.waitReady(h)
	}
	return e
}

// Where workers (on their host's address) and the controller (on the
// bridge's) serve /healthz.
const (
	healthPort           = "18080"
	controllerHealthPort = "18081"
)

// waitReady waits until host h's worker polls its task queues.
func (e *env) waitReady(h int) {
	e.t.Helper()
	e.waitHealthy("the worker on "+network.Hosts[h].Name, "http://"+network.Hosts[h].IP+":"+healthPort+"/healthz")
}

// waitHealthy waits until url answers 200 (a process's /healthz once it
// is ready).
func (e *env) waitHealthy(what, url string) {
	e.t.Helper()
	hc := &http.Client{Timeout: time.Second}
	e.eventually(time.Minute, what+" is ready", func() bool {
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// quietLog drops the Temporal client's logs.
type quietLog struct{}

func (quietLog) Debug(string, ...any) {}
func (quietLog) Info(string, ...any)  {}
func (quietLog) Warn(string, ...any)  {}
func (quietLog) Error(string, ...any) {}

func (e *env) conns() []string {
	return []string{"--nats-url", e.nats.URL, "--temporal-address", temporal.Addr}
}

// startController runs a controller in the root namespace.
func (e *env) startController() {
	e.t.Helper()
	args := append(e.conns(), "--database-url", e.dbURL, "--task-queue", e.studiesQ, "--log-level", "warn",
		"--http-addr", BridgeIP+":"+controllerHealthPort)
	p, err := Start("", "controller", e.t.TempDir(), nil, filepath.Join(binDir, "controller"), args...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.ctrl = p
	e.t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if e.t.Failed() {
			e.t.Logf("controller:\n%s", tail(p.Output(), 6000))
		}
	})
}

// startWorker runs a worker on host h, named after it.
func (e *env) startWorker(h int, extra ...string) *Proc {
	e.t.Helper()
	host := network.Hosts[h]
	args := append(e.conns(), "--task-queue", e.trialsQ, "--name", host.Name,
		"--checkpoint-backend", "objstore", "--log-level", "info", "--http-addr", host.IP+":"+healthPort)
	args = append(args, extra...)
	p, err := host.Start("worker", nil, filepath.Join(binDir, "worker"), args...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.workers[h] = p
	e.t.Cleanup(func() {
		host.KillProcs()
		_ = host.Restore()
		if e.t.Failed() {
			e.t.Logf("worker on %s:\n%s", host.Name, tail(p.Output(), 6000))
		}
	})
	return p
}

// hostOf returns the index of the host whose worker is named name.
func hostOf(t testing.TB, name string) int {
	t.Helper()
	for i, h := range network.Hosts {
		if h.Name == name {
			return i
		}
	}
	t.Fatalf("no host runs worker %q", name)
	return -1
}

func (e *env) db() *pgx.Conn {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.dbURL)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitMigrated waits until the controller applied every migration.
func (e *env) waitMigrated() {
	e.t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		e.t.Fatalf("migration files: %v", err)
	}
	e.eventually(90*time.Second, "the controller migrates the database", func() bool {
		conn, err := pgx.Connect(context.Background(), e.dbURL)
		if err != nil {
			return false
		}
		defer conn.Close(context.Background())
		var n int
		return conn.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n) == nil && n >= len(files)
	})
}

// eventually polls cond until it holds, failing the test after limit.
func (e *env) eventually(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("not within %s: %s", limit, what)
		}
		if e.ctrl != nil && e.ctrl.Exited() {
			e.t.Fatalf("the controller exited while waiting for: %s\n%s", what, tail(e.ctrl.Output(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const studySpec = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [%s]}
space:
  activation: {choice: [relu, tanh, elu]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}
search: {algorithm: random, max_trials: %d, parallelism: %d, seed: 11}
schedule: {kind: none, max_epochs: %d}
optimizer: {kind: adam}
`

// study is a submitted study.
type study struct {
	name   string
	run    client.WorkflowRun
	trials int
	epochs int
	start  time.Time
}

// startStudy starts a study workflow with a short heartbeat timeout, so
// that a lost host shows within seconds.
func (e *env) startStudy(name, hidden string, trials, parallelism, epochs int) *study {
	e.t.Helper()
	return e.startSpec(fmt.Sprintf(studySpec, name, hidden, trials, parallelism, epochs), trials, epochs)
}

// startSpec starts the study of spec text.
func (e *env) startSpec(text string, trials, epochs int) *study {
	e.t.Helper()
	sp, err := spec.Parse([]byte(text))
	if err != nil {
		e.t.Fatal(err)
	}
	start := time.Now()
	run, err := e.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.StudyWorkflowID(sp.Name), TaskQueue: e.studiesQ,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: e.trialsQ, HeartbeatTimeout: 3 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return &study{name: sp.Name, run: run, trials: trials, epochs: epochs, start: start}
}

// wait waits for the study's workflow to finish.
func (e *env) wait(s *study, limit time.Duration) workflows.StudyResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var res workflows.StudyResult
	if err := s.run.Get(ctx, &res); err != nil {
		e.t.Fatalf("study %s: %v", s.name, err)
	}
	return res
}

// rows counts the study's metric rows.
func (e *env) rows(conn *pgx.Conn, name string) int {
	e.t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
		JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&n); err != nil {
		return 0 // the study row may not exist yet
	}
	return n
}

// trialRow is one trial's stored outcome.
type trialRow struct {
	number, epochs, attempt, rows, minEpoch, maxEpoch int
	status, worker                                    string
}

func (e *env) trials(conn *pgx.Conn, name string) []trialRow {
	e.t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT t.number, t.status, t.epochs_done, t.attempt, coalesce(t.worker, ''),
		count(m.epoch), coalesce(min(m.epoch), 0), coalesce(max(m.epoch), 0)
		FROM trials t JOIN studies s ON s.id = t.study_id LEFT JOIN trial_metrics m ON m.trial_id = t.id
		WHERE s.name = $1 GROUP BY t.id ORDER BY t.number`, name)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []trialRow
	for rows.Next() {
		var r trialRow
		if err := rows.Scan(&r.number, &r.status, &r.epochs, &r.attempt, &r.worker, &r.rows, &r.minEpoch, &r.maxEpoch); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// checkStudy asserts every trial is terminal and complete, with exactly
// one metrics row for each epoch it trained (1..epochs_done).
func (e *env) checkStudy(conn *pgx.Conn, s *study) []trialRow {
	e.t.Helper()
	ts := e.trials(conn, s.name)
	if len(ts) != s.trials {
		e.t.Fatalf("study %s has %d trials, want %d", s.name, len(ts), s.trials)
	}
	for _, r := range ts {
		if r.status != "complete" {
			e.t.Errorf("trial %d is %s, want complete", r.number, r.status)
		}
		if r.epochs != s.epochs || r.rows != r.epochs || r.minEpoch != 1 || r.maxEpoch != r.epochs {
			e.t.Errorf("trial %d: %d epochs done, %d metric rows for epochs %d..%d; want one row for each of epochs 1..%d",
				r.number, r.epochs, r.rows, r.minEpoch, r.maxEpoch, s.epochs)
		}
	}
	return ts
}

// jetStream connects to the env's NATS from the root namespace.
func (e *env) jetStream() jetstream.JetStream {
	e.t.Helper()
	nc, err := nats.Connect(e.nats.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

// published returns, for one trial, the epochs each attempt published
// (from the stream's message ids, events.MetricsMsgID).
func (e *env) published(js jetstream.JetStream, name string, trial int) map[int][]int {
	e.t.Helper()
	ids, err := natstest.MsgIDs(context.Background(), js, events.DefaultStream)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int][]int{}
	for id := range ids {
		p, ok := events.ParseMetricsMsgID(id)
		if !ok || p.Study != name || p.Trial != trial {
			continue
		}
		out[p.Attempt] = append(out[p.Attempt], p.Epoch)
	}
	return out
}

// checkpointsLeft lists the trial's checkpoints in the default bucket.
func (e *env) checkpointsLeft(js jetstream.JetStream, name string, trial int) []ckptstore.Key {
	e.t.Helper()
	st, err := ckptstore.New(js, ckptstore.Config{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := st.Checkpoints(ctx, name, trial)
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}
