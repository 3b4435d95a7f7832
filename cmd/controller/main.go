// Command controller runs relutune's study workflows, the activities that
// write to Postgres, and the metrics sink (JetStream -> Postgres). It applies
// the database migrations at start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log, err := config.NewLogger(stderr, *level)
	if err != nil {
		fmt.Fprintln(stderr, "controller:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := controller.Run(ctx, cfg, log.With("process", "controller")); err != nil {
		log.Error("controller stopped", "err", err)
		return 1
	}
	return 0
}
