// Package worker is relutune's training worker: the TrainTrial activity
// (with its heartbeats, checkpoints and failure taxonomy), the
// RemoveCheckpoints activity, and Run, which serves them on the trials
// queue. It never links a database driver: a worker only trains and
// publishes metrics.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// Config configures a training worker.
type Config struct {
	process.Connections
	TrialsQueue string        // default workflows.TrialsQueue
	Events      events.Config // stream and subject prefix
	Name        string        // worker name in metrics and trial rows
	Concurrency int           // trials trained at once; default 1, at most Cores
	// Cores is the CPU cores the worker may use (default runtime.GOMAXPROCS,
	// which follows the process's CPU affinity and cgroup quota). Each trial
	// trains with at most Cores/Concurrency threads, so Concurrency times
	// the threads in use never exceeds Cores; a Concurrency above Cores is
	// lowered to Cores.
	Cores int
	// CheckpointBackend is where checkpoints go: BackendObjectStore (a
	// JetStream object-store bucket every worker reaches, so a retry
	// resumes on any host) or BackendDir (CheckpointDir on this host). ""
	// means BackendDir.
	CheckpointBackend string
	Checkpoints       ckptstore.Config // bucket and replicas of BackendObjectStore
	CheckpointDir     string           // BackendDir's directory; empty disables checkpoints
	HTTPAddr          string           // /healthz; empty disables
	// HeartbeatThrottle is the longest the Temporal SDK holds a trial's
	// heartbeat before sending it; default DefaultHeartbeatThrottle.
	HeartbeatThrottle time.Duration
	// MaxTrialMemory is the largest estimated peak memory of a trial this
	// worker trains (0: trainer.DefaultMaxMemory).
	MaxTrialMemory int64
}

// DefaultHeartbeatThrottle caps the SDK's heartbeat throttle on training
// workers. A running activity learns it was canceled only from the reply
// to a heartbeat the SDK sends, and by default the SDK sends one at most
// every 80% of the heartbeat timeout (24 s of a trial's 30 s), so a
// canceled trial trained on for up to that long. With one second, and a
// trial heartbeating every second while it progresses
// (DefaultHeartbeatEvery), a cancel reaches it within about two
// seconds, for one small heartbeat request per second per running trial.
const DefaultHeartbeatThrottle = time.Second

// RegisterActivities registers a's activities on r under the names the
// workflows call them by (workflows.WorkerActivityNames).
func RegisterActivities(r sdkworker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.TrainTrial, activity.RegisterOptions{Name: workflows.TrainTrialActivity})
	r.RegisterActivityWithOptions(a.RemoveCheckpoints, activity.RegisterOptions{Name: workflows.RemoveCheckpointsActivity})
	r.RegisterActivityWithOptions(a.CopyCheckpoint, activity.RegisterOptions{Name: workflows.CopyCheckpointActivity})
}

// Run trains trials from the trials task queue until ctx is done.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.TrialsQueue == "" {
		cfg.TrialsQueue = workflows.TrialsQueue
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	if cfg.Concurrency > cfg.Cores {
		log.Warn("concurrency lowered to the worker's cores", "concurrency", cfg.Concurrency, "cores", cfg.Cores)
		cfg.Concurrency = cfg.Cores
	}
	if cfg.HeartbeatThrottle <= 0 {
		cfg.HeartbeatThrottle = DefaultHeartbeatThrottle
	}
	h := &process.Health{}
	if err := process.ServeHealth(ctx, cfg.HTTPAddr, h, cfg.Telemetry.Metrics, log); err != nil {
		return err
	}
	nc, js, err := process.ConnectNATS(cfg.Connections, "relutune-worker-"+cfg.Name, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := events.EnsureStream(ctx, js, cfg.Events); err != nil {
		return err
	}
	var objects CheckpointStore
	switch cfg.CheckpointBackend {
	case BackendObjectStore:
		st, err := ckptstore.New(js, cfg.Checkpoints)
		if err != nil {
			return err
		}
		// A bucket out of reach now is no reason not to train: each trial
		// tries again, and goes on without checkpoints when it cannot.
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := st.Open(octx); err != nil {
			log.Warn("checkpoint bucket unavailable; trials retry it and train without checkpoints until then", "bucket", st.Bucket(), "err", err)
		}
		cancel()
		objects = st
	case BackendDir, "":
	default:
		return fmt.Errorf("checkpoint backend %q: must be %s or %s", cfg.CheckpointBackend, BackendObjectStore, BackendDir)
	}
	tc, err := process.DialTemporal(ctx, cfg.Connections, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w := sdkworker.New(tc, cfg.TrialsQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: cfg.Concurrency,
		Identity:                           cfg.Name,
		MaxHeartbeatThrottleInterval:       cfg.HeartbeatThrottle,
	})
	acts := &Activities{
		Publisher:      events.NewPublisher(js, cfg.Events, events.WithLogger(log)),
		Pruner:         studyPruner{tc},
		Datasets:       trainer.LoadDataset,
		Checkpoints:    objects,
		CheckpointDir:  cfg.CheckpointDir,
		Worker:         cfg.Name,
		MaxTrialMemory: cfg.MaxTrialMemory,
		MaxThreads:     cfg.Cores / cfg.Concurrency,
		Log:            log,
		Metrics:        cfg.Telemetry.Metrics,
	}
	RegisterActivities(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on %s: %w", cfg.TrialsQueue, err)
	}
	defer w.Stop()
	// This worker's own queue: activities that need its local disk (the
	// removal of a recorded trial's checkpoints) are sent there.
	hostQueue := workflows.HostQueue(cfg.TrialsQueue, cfg.Name)
	// A pbt trial whose checkpoint is on this worker's disk trains its
	// next generation here too, and its weights are copied here
	// (CopyCheckpoint): this queue runs them as well, up to concurrency
	// trials besides those of the shared queue.
	hw := sdkworker.New(tc, hostQueue, sdkworker.Options{Identity: cfg.Name,
		MaxConcurrentActivityExecutionSize: cfg.Concurrency + 2, MaxHeartbeatThrottleInterval: cfg.HeartbeatThrottle})
	RegisterActivities(hw, acts)
	if err := hw.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on %s: %w", hostQueue, err)
	}
	defer hw.Stop()
	h.SetReady()
	log.Info("worker running", "name", cfg.Name, "task_queue", cfg.TrialsQueue, "concurrency", cfg.Concurrency,
		"threads_per_trial", cfg.Cores/cfg.Concurrency, "checkpoints", checkpointsWhere(cfg, objects))
	<-ctx.Done()
	return nil
}

// Checkpoint backends (Config.CheckpointBackend).
const (
	BackendObjectStore = "objstore"
	BackendDir         = "dir"
)

func checkpointsWhere(cfg Config, objects CheckpointStore) string {
	switch {
	case objects != nil:
		return "nats object store bucket " + objects.Bucket()
	case cfg.CheckpointDir != "":
		return "directory " + cfg.CheckpointDir
	}
	return "none"
}

// studyPruner asks the study's workflow through its report update.
type studyPruner struct{ c client.Client }

func (p studyPruner) Continue(ctx context.Context, study string, trial, epoch int, value float64) (bool, error) {
	h, err := p.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.StudyWorkflowID(study),
		UpdateName:   workflows.UpdateReport,
		Args:         []any{workflows.RungReport{Trial: trial, Epoch: epoch, Value: value}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return false, err
	}
	var d workflows.RungDecision
	if err := h.Get(ctx, &d); err != nil {
		return false, err
	}
	return d.Continue, nil
}
