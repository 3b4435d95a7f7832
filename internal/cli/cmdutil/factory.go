package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/redact"
	"github.com/relutune/relutune/internal/store"
)

// Factory builds the clients a command needs, lazily, from the root
// command's connection flags. Close releases whatever was opened.
type Factory struct {
	IO     *IOStreams
	Conn   process.Connections
	Events events.Config
	// StudiesQueue and TrialsQueue are where submitted studies run.
	StudiesQueue string
	TrialsQueue  string
	// TemporalUI is the base URL of the Temporal Web UI, for links.
	TemporalUI string

	mu       sync.Mutex
	temporal client.Client
	store    *store.Store
	nc       *nats.Conn
	js       jetstream.JetStream
}

// Temporal returns a connected Temporal client.
func (f *Factory) Temporal(ctx context.Context) (client.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.temporal == nil {
		quiet := f.logger(slog.LevelError)
		c, err := process.DialTemporal(ctx, f.Conn, quiet)
		if err != nil {
			return nil, err
		}
		f.temporal = c
	}
	return f.temporal, nil
}

// logger logs what the clients report at level and above on stderr: the
// Temporal SDK's errors, and NATS connection losses too (watch runs long).
func (f *Factory) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level}))
}

// Store returns a connected Postgres store.
func (f *Factory) Store(ctx context.Context) (*store.Store, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.store == nil {
		s, err := store.Open(ctx, f.Conn.DatabaseURL)
		err = redact.Error(err, f.Conn.DatabaseURL)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
			return nil, fmt.Errorf("%w; the controller creates it at start (make up, or run bin/controller)", err)
		}
		if err != nil {
			return nil, err
		}
		if err := s.CheckSchema(ctx); err != nil {
			s.Close()
			err = redact.Error(err, f.Conn.DatabaseURL)
			return nil, fmt.Errorf("%w; the controller applies the migrations at start (make up, or run bin/controller)", err)
		}
		f.store = s
	}
	return f.store, nil
}

// ReaderURL returns the URL `tunectl sql` logs in with: flag when it is
// set, else RELUTUNE_READER_URL, else the database URL's server, database
// and parameters with the user relutune_reader and no password.
func (f *Factory) ReaderURL(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(process.EnvReaderURL); env != "" {
		return env, nil
	}
	u, err := process.ReaderURL(f.Conn.DatabaseURL)
	if err != nil {
		return "", Usagef("--reader-url: %v", err)
	}
	return u, nil
}

// JetStream returns a JetStream context on a NATS connection.
func (f *Factory) JetStream() (jetstream.JetStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.js == nil {
		nc, js, err := process.ConnectNATS(f.Conn, "tunectl", f.logger(slog.LevelWarn))
		if err != nil {
			return nil, err
		}
		f.nc, f.js = nc, js
	}
	return f.js, nil
}

// Close releases every client that was opened.
func (f *Factory) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.temporal != nil {
		f.temporal.Close()
	}
	if f.store != nil {
		f.store.Close()
	}
	if f.nc != nil {
		f.nc.Close()
	}
}

// CompleteStudies completes a study-name argument from the stored studies.
func (f *Factory) CompleteStudies(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	st, err := f.Store(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	studies, err := st.ListStudies(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for _, s := range studies {
		if strings.HasPrefix(s.Name, toComplete) {
			names = append(names, s.Name+"\t"+string(s.Status))
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
