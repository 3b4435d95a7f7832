// Command worker trains relutune trials: it runs the TrainTrial activity,
// publishes every epoch's metrics to NATS JetStream and heartbeats its
// checkpoints to Temporal. It never connects to Postgres.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/relutune/relutune/internal/config"
	"github.com/relutune/relutune/internal/service"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func defaultCheckpointDir() string {
	if d := os.Getenv(config.EnvCheckpointDir); d != "" {
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
	var cfg service.WorkerConfig
	cfg.Connections.Register(fs, false)
	host, _ := os.Hostname()
	fs.StringVar(&cfg.TrialsQueue, "task-queue", "relutune-trials", "Temporal task queue of TrainTrial activities")
	fs.StringVar(&cfg.Name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "worker name shown in trials and metrics")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "trials trained at once (each uses one core)")
	fs.StringVar(&cfg.CheckpointDir, "checkpoint-dir", defaultCheckpointDir(), "directory for trial checkpoints (env "+config.EnvCheckpointDir+")")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", config.Env(config.EnvHTTPAddr, ""), "address of the /healthz endpoint, empty for none (env "+config.EnvHTTPAddr+")")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.Concurrency < 1 {
		fmt.Fprintf(stderr, "worker: --concurrency: %d must be >= 1\n", cfg.Concurrency)
		return 2
	}
	log, err := config.NewLogger(stderr, *level)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := service.RunWorker(ctx, cfg, log.With("process", "worker", "worker", cfg.Name)); err != nil {
		log.Error("worker stopped", "err", err)
		return 1
	}
	return 0
}
