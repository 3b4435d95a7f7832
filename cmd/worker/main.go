// Command worker trains relutune trials: it runs the TrainTrial activity,
// publishes every epoch's metrics to NATS JetStream and heartbeats its
// checkpoints to Temporal. It never connects to Postgres.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/worker"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func defaultCheckpointDir() string {
	if d := os.Getenv(process.EnvCheckpointDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "relutune", "checkpoints")
	}
	return filepath.Join(os.TempDir(), "relutune-checkpoints")
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg worker.Config
	cfg.Connections.Register(fs, false)
	host, _ := os.Hostname()
	fs.StringVar(&cfg.TrialsQueue, "task-queue", workflows.TrialsQueue, "Temporal task queue of TrainTrial activities")
	fs.StringVar(&cfg.Name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "worker name shown in trials and metrics")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "trials trained at once (each uses one core)")
	fs.StringVar(&cfg.CheckpointDir, "checkpoint-dir", defaultCheckpointDir(), "directory for trial checkpoints (env "+process.EnvCheckpointDir+")")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", process.Env(process.EnvHTTPAddr, ""), "address of the /healthz, /livez and /metrics endpoint, empty for none (env "+process.EnvHTTPAddr+")")
	dataDir := fs.String("data-dir", os.Getenv(trainer.EnvDataDir), "directory that csv: and idx: data set paths are read under and confined to, default the current directory (env "+trainer.EnvDataDir+"; caps: "+trainer.EnvMaxDatasetBytes+", "+trainer.EnvDatasetCacheBytes+")")
	maxMem := fs.String("max-trial-memory", process.Env("RELUTUNE_MAX_TRIAL_MEMORY", trainer.FormatBytes(trainer.DefaultMaxMemory)),
		"refuse trials whose estimated peak memory is larger, e.g. 2GiB or 512MiB (env RELUTUNE_MAX_TRIAL_MEMORY)")
	validate := func() error {
		b, err := trainer.ParseBytes(*maxMem)
		if err != nil || b <= 0 {
			return fmt.Errorf("--max-trial-memory: %q must be a positive size such as 2GiB or 512MiB", *maxMem)
		}
		cfg.MaxTrialMemory = b
		if cfg.Concurrency < 1 {
			return fmt.Errorf("--concurrency: %d must be >= 1", cfg.Concurrency)
		}
		if err := checkWorkerName(cfg.Name); err != nil {
			return err
		}
		if err := cfg.Connections.Validate(); err != nil {
			return err
		}
		return setDataLoader(*dataDir)
	}
	return process.Serve("worker", telemetry.Worker, fs, args, stderr, validate, func(ctx context.Context, log *slog.Logger, tel process.Telemetry) error {
		cfg.Telemetry = tel
		return worker.Run(ctx, cfg, log.With("worker", cfg.Name))
	})
}

// setDataLoader makes the trials of this process read data sets under
// dataDir, with the caps the environment sets.
func setDataLoader(dataDir string) error {
	o, err := trainer.DataOptionsFromEnv()
	if err != nil {
		return err
	}
	o.Root = dataDir
	l, err := trainer.NewLoader(o)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	trainer.SetDefaultLoader(l)
	return nil
}

// checkWorkerName refuses a name the metrics sink would refuse, which would
// otherwise dead-letter every message this worker publishes.
func checkWorkerName(name string) error {
	if name == "" {
		return fmt.Errorf("--name: must not be empty")
	}
	if err := events.CheckText("--name", name, events.MaxWorkerBytes); err != nil {
		return err
	}
	return nil
}
