// Command controller runs relutune's study workflows, the activities that
// write to Postgres, and the metrics sink (JetStream -> Postgres). It applies
// the database migrations at start.
package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/relutune/relutune/internal/controller"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/workflows"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg controller.Config
	cfg.Connections.Register(fs, true)
	fs.StringVar(&cfg.StudiesQueue, "task-queue", workflows.StudiesQueue, "Temporal task queue of study workflows")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", process.Env(process.EnvHTTPAddr, ""), "address of the /healthz, /livez and /metrics endpoint, empty for none (env "+process.EnvHTTPAddr+")")
	return process.Serve("controller", telemetry.Controller, fs, args, stderr, cfg.Connections.Validate, func(ctx context.Context, log *slog.Logger, tel process.Telemetry) error {
		cfg.Telemetry = tel
		return controller.Run(ctx, cfg, log)
	})
}
