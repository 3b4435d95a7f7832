// Package controller wires the controller process: migrations, the study
// workflows, the Postgres activities and the metrics sink.
package controller

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/redact"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/workflows"
)

// Config configures the controller process.
type Config struct {
	process.Connections
	StudiesQueue string        // default workflows.StudiesQueue
	Events       events.Config // stream and subject prefix
	SinkDurable  string        // consumer name; default "relutune-sink"
	HTTPAddr     string        // /healthz; empty disables
}

// Run applies migrations, then runs the study workflows, the
// controller activities and the metrics sink until ctx is done.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.StudiesQueue == "" {
		cfg.StudiesQueue = workflows.StudiesQueue
	}
	h := &process.Health{}
	if err := process.ServeHealth(ctx, cfg.HTTPAddr, h, cfg.Telemetry.Metrics, log); err != nil {
		return err
	}
	if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return redact.Error(err, cfg.DatabaseURL)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return redact.Error(err, cfg.DatabaseURL)
	}
	defer st.Close()
	cfg.Telemetry.Metrics.WatchTrialStates(st.TrialStateCounts)
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "files", applied)
	}
	nc, js, err := process.ConnectNATS(cfg.Connections, "relutune-controller", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := events.EnsureStream(ctx, js, cfg.Events); err != nil {
		return err
	}
	tc, err := process.DialTemporal(ctx, cfg.Connections, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	w := worker.New(tc, cfg.StudiesQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.StudyWorkflow, workflow.RegisterOptions{Name: workflows.StudyWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.TrialWorkflow, workflow.RegisterOptions{Name: workflows.TrialWorkflowName})
	RegisterActivities(w, &Activities{
		Store: st, Publisher: events.NewPublisher(js, cfg.Events), Log: log, Metrics: cfg.Telemetry.Metrics,
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on %s: %w", cfg.StudiesQueue, err)
	}
	defer w.Stop()

	sinkErr := make(chan error, 1)
	go func() {
		sinkErr <- (&Sink{JS: js, Config: cfg.Events, Writer: st, Log: log.With("component", "sink"), Durable: cfg.SinkDurable, Metrics: cfg.Telemetry.Metrics}).Run(ctx)
	}()
	h.SetReady()
	log.Info("controller running", "task_queue", cfg.StudiesQueue, "temporal", cfg.TemporalAddress)
	select {
	case <-ctx.Done():
		<-sinkErr
		return nil
	case err := <-sinkErr:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("metrics sink: %w", err)
	}
}

// RegisterActivities registers a's activities on r under the names the
// workflows call them by (workflows.ControllerActivityNames).
func RegisterActivities(r worker.ActivityRegistry, a *Activities) {
	for name, fn := range map[string]any{
		workflows.CreateStudyActivity:  a.CreateStudy,
		workflows.SuggestActivity:      a.Suggest,
		workflows.RecordActivity:       a.Record,
		workflows.AwaitMetricsActivity: a.AwaitMetrics,
		workflows.FinishStudyActivity:  a.FinishStudy,
		workflows.DecideActivity:       a.Decide,
		workflows.ExploitActivity:      a.Exploit,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
