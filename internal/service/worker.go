package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/internal/config"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// WorkerConfig configures a training worker.
type WorkerConfig struct {
	config.Connections
	TrialsQueue   string        // default workflows.TrialsQueue
	Events        events.Config // stream and subject prefix
	Name          string        // worker name in metrics and trial rows
	Concurrency   int           // trials trained at once; default 1
	CheckpointDir string        // empty disables checkpoints
	HTTPAddr      string        // /healthz; empty disables
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
// (workflows.DefaultHeartbeatEvery), a cancel reaches it within about two
// seconds, for one small heartbeat request per second per running trial.
const DefaultHeartbeatThrottle = time.Second

// RunWorker trains trials from the trials task queue until ctx is done.
func RunWorker(ctx context.Context, cfg WorkerConfig, log *slog.Logger) error {
	if cfg.TrialsQueue == "" {
		cfg.TrialsQueue = workflows.TrialsQueue
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.HeartbeatThrottle <= 0 {
		cfg.HeartbeatThrottle = DefaultHeartbeatThrottle
	}
	h := &Health{}
	if err := ServeHealth(ctx, cfg.HTTPAddr, h, log); err != nil {
		return err
	}
	nc, js, err := ConnectNATS(cfg.Connections, "relutune-worker-"+cfg.Name, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := events.EnsureStream(ctx, js, cfg.Events); err != nil {
		return err
	}
	tc, err := DialTemporal(ctx, cfg.Connections, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w := worker.New(tc, cfg.TrialsQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.Concurrency,
		Identity:                           cfg.Name,
		MaxHeartbeatThrottleInterval:       cfg.HeartbeatThrottle,
	})
	w.RegisterActivityWithOptions(&workflows.WorkerActivities{
		Publisher:      events.NewPublisher(js, cfg.Events, events.WithLogger(log)),
		Pruner:         studyPruner{tc},
		Datasets:       trainer.LoadDataset,
		CheckpointDir:  cfg.CheckpointDir,
		Worker:         cfg.Name,
		MaxTrialMemory: cfg.MaxTrialMemory,
		Log:            log,
	}, activity.RegisterOptions{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on %s: %w", cfg.TrialsQueue, err)
	}
	defer w.Stop()
	// This worker's own queue: activities that need its local disk (the
	// removal of a recorded trial's checkpoints) are sent there.
	hostQueue := workflows.HostQueue(cfg.TrialsQueue, cfg.Name)
	hw := worker.New(tc, hostQueue, worker.Options{Identity: cfg.Name})
	local := &workflows.WorkerActivities{CheckpointDir: cfg.CheckpointDir, Worker: cfg.Name, Log: log}
	hw.RegisterActivityWithOptions(local.RemoveCheckpoints, activity.RegisterOptions{Name: workflows.RemoveCheckpointsActivity})
	if err := hw.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on %s: %w", hostQueue, err)
	}
	defer hw.Stop()
	h.SetReady()
	log.Info("worker running", "name", cfg.Name, "task_queue", cfg.TrialsQueue, "concurrency", cfg.Concurrency)
	<-ctx.Done()
	return nil
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
