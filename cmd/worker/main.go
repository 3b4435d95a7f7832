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
	"strconv"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/worker"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// Environment variables of the checkpoint flags.
const (
	envCheckpointBackend  = process.EnvCheckpointBackend
	envCheckpointBucket   = process.EnvCheckpointBucket
	envCheckpointReplicas = process.EnvCheckpointReplicas
)

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
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "trials trained at once; each trains with at most GOMAXPROCS/concurrency threads (its spec's threads:), and a value above GOMAXPROCS is lowered to it")
	fs.StringVar(&cfg.CheckpointBackend, "checkpoint-backend", process.Env(envCheckpointBackend, worker.BackendObjectStore),
		"where trial checkpoints go: objstore (a NATS JetStream object-store bucket, so a retried trial resumes on any worker) or dir (--checkpoint-dir on this host) (env "+envCheckpointBackend+")")
	fs.StringVar(&cfg.Checkpoints.Bucket, "checkpoint-bucket", process.Env(envCheckpointBucket, ckptstore.DefaultBucket), "object-store bucket of the objstore backend (env "+envCheckpointBucket+")")
	replicas := fs.String("checkpoint-replicas", process.Env(envCheckpointReplicas, "1"), "replicas of the checkpoint bucket when this worker creates it, 1 to 5 (env "+envCheckpointReplicas+")")
	fs.StringVar(&cfg.CheckpointDir, "checkpoint-dir", defaultCheckpointDir(), "directory for trial checkpoints of the dir backend (env "+process.EnvCheckpointDir+")")
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
		if cfg.CheckpointBackend != worker.BackendObjectStore && cfg.CheckpointBackend != worker.BackendDir {
			return fmt.Errorf("--checkpoint-backend: %q must be %s or %s", cfg.CheckpointBackend, worker.BackendObjectStore, worker.BackendDir)
		}
		r, err := strconv.Atoi(*replicas)
		if err != nil {
			return fmt.Errorf("--checkpoint-replicas: %q must be a whole number from 1 to %d", *replicas, ckptstore.MaxReplicas)
		}
		cfg.Checkpoints.Replicas = r
		if err := cfg.Checkpoints.Validate(); err != nil {
			return fmt.Errorf("--checkpoint-bucket/--checkpoint-replicas: %w", err)
		}
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
