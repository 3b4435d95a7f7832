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

	"github.com/relutune/relutune/internal/config"
	"github.com/relutune/relutune/internal/controller"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg controller.Config
	cfg.Connections.Register(fs, true)
	fs.StringVar(&cfg.StudiesQueue, "task-queue", "relutune-studies", "Temporal task queue of study workflows")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", config.Env(config.EnvHTTPAddr, ""), "address of the /healthz endpoint, empty for none (env "+config.EnvHTTPAddr+")")
	return config.Serve("controller", fs, args, stderr, cfg.Connections.Validate, func(ctx context.Context, log *slog.Logger) error {
		return controller.Run(ctx, cfg, log)
	})
}
