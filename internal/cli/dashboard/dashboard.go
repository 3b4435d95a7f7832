// Package dashboard implements `tunectl dashboard`: the web dashboard
// (internal/dashboard) over Postgres as the read-only relutune_reader role,
// following NATS for live updates.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/analyst"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/dashboard"
)

// Options are dashboard's inputs.
type Options struct {
	IO        *cmdutil.IOStreams
	Factory   *cmdutil.Factory
	Listen    string
	ReaderURL string
	NoLive    bool
}

// NewCmdDashboard returns the dashboard command.
func NewCmdDashboard(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve the web dashboard: studies, trials, curves, importance and diagnostics, live",
		Long: `Serve relutune's web dashboard on --listen: every study with its progress;
for a study its trials (sortable, filtered by state and activation, linked to
the study's workflow in the Temporal UI with the activity id of their last
try), optimisation history, learning curves with a 95%
band per activation, parallel coordinates, fANOVA parameter importance, the
activation x initialiser table, the slope sweep, dead-unit and saturation
heatmaps per layer and epoch, PReLU slopes, gradient norms per layer and the
Pareto front of objective against epoch time; for a trial its parameters,
epochs and per-layer diagnostics.

It reads Postgres as the read-only relutune_reader role (--reader-url, else
RELUTUNE_READER_URL, else --database-url's server as relutune_reader) and
follows NATS (--nats-url) so running studies move as epochs land; with
--no-live, or when NATS cannot be reached, pages show what is stored.`,
		Example: `  tunectl dashboard
  tunectl dashboard --listen 0.0.0.0:8080 --reader-url postgres://relutune_reader:secret@db/relutune`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
				return cmdutil.Usagef("--listen: %q is not host:port (%v)", opts.Listen, err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDashboard(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	cmd.Flags().BoolVar(&opts.NoLive, "no-live", false, "do not follow NATS for live updates")
	analyst.AddReaderFlag(cmd, &opts.ReaderURL)
	return cmd
}

func runDashboard(ctx context.Context, opts *Options) error {
	f := opts.Factory
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, nil)).With("component", "dashboard")
	reader, err := analyst.Open(ctx, f, opts.ReaderURL)
	if err != nil {
		return err
	}
	defer reader.Close()
	var hub *dashboard.Hub
	if !opts.NoLive {
		if js, err := f.JetStream(); err != nil {
			log.Warn("no live updates: NATS unreachable", "err", err)
		} else {
			hub = &dashboard.Hub{}
			sub, err := dashboard.FollowNATS(js.Conn(), f.Events, hub)
			if err != nil {
				return fmt.Errorf("follow NATS: %w", err)
			}
			defer func() { _ = sub.Unsubscribe() }()
		}
	}
	handler := dashboard.New(dashboard.Options{Source: reader, Hub: hub, TemporalUI: f.TemporalUI, Namespace: f.Conn.TemporalNamespace, Logger: log})
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", opts.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests end with the command, event streams included.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	fmt.Fprintf(opts.IO.ErrOut, "dashboard: http://%s/\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
