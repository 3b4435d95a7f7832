package process

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Serve is the shared body of the long-running binaries: it adds
// --log-level to fs, parses args, checks them with validate (may be nil),
// and calls run with a logger and a context canceled on SIGINT or SIGTERM.
// It returns the process exit code: 0 ok, 1 run failed, 2 usage.
func Serve(name string, fs *flag.FlagSet, args []string, stderr io.Writer, validate func() error,
	run func(ctx context.Context, log *slog.Logger) error) int {
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if validate != nil {
		if err := validate(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 2
		}
	}
	log, err := NewLogger(stderr, *level)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	log = log.With("process", name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error(name+" stopped", "err", err)
		return 1
	}
	return 0
}
