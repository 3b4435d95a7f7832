// Package sql implements `tunectl sql`: one read-only query over the result
// views, logged in as the relutune_reader role, its rows streamed out.
package sql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/redact"
	"github.com/relutune/relutune/internal/store"
)

// Formats accepted by --output.
var formats = []string{"table", "csv", "json", "jsonl"}

// Limits of --limit.
const (
	DefaultTableLimit = 10000
	MaxTableLimit     = 1_000_000 // a table is held in memory to align it
)

// maxQueryBytes bounds a query read from standard input.
const maxQueryBytes = 1 << 20

// ResultReader runs one read-only query over the result views, passing
// its rows to sink as they arrive (store.QueryAsReader's contract: a sink
// returning store.ErrStopRows ends it without error).
type ResultReader interface {
	Query(ctx context.Context, q store.ReaderQuery, sink store.RowSink) error
}

// Options are sql's inputs.
type Options struct {
	IO *cmdutil.IOStreams
	// Reader logs in as the reader role, with the URL that --reader-url,
	// the environment or the database URL gives.
	Reader    func(context.Context) (ResultReader, error)
	Query     string
	Output    string
	ReaderURL string // --reader-url; empty: RELUTUNE_READER_URL, then derived
	Timeout   time.Duration
	Limit     int // rows printed at most; 0: all
}

// NewCmdSQL returns the sql command.
func NewCmdSQL(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	opts.Reader = func(context.Context) (ResultReader, error) {
		url, err := f.ReaderURL(opts.ReaderURL)
		if err != nil {
			return nil, err
		}
		return readerLogin{url: url}, nil
	}
	cmd := &cobra.Command{
		Use:   "sql <query>",
		Short: "Run a read-only SQL query over the result views",
		Long: `Run one SQL statement, logged in as the relutune_reader role, which may read
the views trial_ranking, config_ranking, activation_summary,
activation_seed_means, trial_diagnostics and epoch_metrics, and nothing
else; nothing can be changed. "-" reads the query from standard input.

The login comes from --reader-url, else ` + process.EnvReaderURL + `, else the
--database-url's server and database with the user relutune_reader and no
password. Rows are written as they arrive; csv, json and jsonl print every
row unless --limit is given, a table at most 10000 rows.`,
		Example: `  tunectl sql "SELECT activation, n, mean, ci95_low, ci95_high FROM activation_summary WHERE study = 'quickstart'"
  tunectl sql --output csv "SELECT * FROM epoch_metrics WHERE study = 'quickstart'" > metrics.csv
  tunectl sql --timeout 5m --output jsonl "SELECT * FROM trial_ranking"
  echo "SELECT * FROM config_ranking LIMIT 5" | tunectl sql -`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOptions(opts, cmd.Flags().Changed("limit")); err != nil {
				return err
			}
			opts.Query = args[0]
			if opts.Query == "-" {
				b, err := io.ReadAll(io.LimitReader(opts.IO.In, maxQueryBytes+1))
				if err != nil {
					return err
				}
				if len(b) > maxQueryBytes {
					return cmdutil.Usagef("the query on standard input is over %d bytes", maxQueryBytes)
				}
				opts.Query = string(b)
			}
			if strings.TrimSpace(opts.Query) == "" {
				return cmdutil.Usagef("the query is empty")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSQL(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "table", "output format: "+strings.Join(formats, ", "))
	fl.StringVar(&opts.ReaderURL, "reader-url", "", "Postgres URL to log in with (env "+process.EnvReaderURL+"; default: --database-url's server and database as relutune_reader)")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "statement timeout (1ms to 1h)")
	fl.IntVar(&opts.Limit, "limit", 0, fmt.Sprintf("print at most this many rows, 0 for all (not for table; default %d for table, all otherwise)", DefaultTableLimit))
	return cmd
}

// checkOptions validates the flags and fills in the format's default limit.
func checkOptions(opts *Options, limitSet bool) error {
	known := false
	for _, f := range formats {
		known = known || f == opts.Output
	}
	if !known {
		return cmdutil.Usagef("--output: %q is not a format (allowed: %s)", opts.Output, strings.Join(formats, ", "))
	}
	if opts.Timeout < store.MinReaderTimeout || opts.Timeout > store.MaxReaderTimeout {
		return cmdutil.Usagef("--timeout: %v is out of range (allowed: %v to %v)", opts.Timeout, store.MinReaderTimeout, store.MaxReaderTimeout)
	}
	if !limitSet && opts.Output == "table" {
		opts.Limit = DefaultTableLimit
	}
	switch {
	case opts.Limit < 0:
		return cmdutil.Usagef("--limit: %d is negative (allowed: 0 for all rows, or a row count)", opts.Limit)
	case opts.Output == "table" && (opts.Limit == 0 || opts.Limit > MaxTableLimit):
		return cmdutil.Usagef("--limit: %d is not allowed for a table, which is held in memory to align it (allowed: 1 to %d; --output csv or json for more)", opts.Limit, MaxTableLimit)
	}
	return nil
}

// readerLogin is the ResultReader of a reader URL; errors never show its
// password.
type readerLogin struct{ url string }

func (r readerLogin) Query(ctx context.Context, q store.ReaderQuery, sink store.RowSink) error {
	return redact.Error(store.QueryAsReader(ctx, r.url, q, sink), r.url)
}

func runSQL(ctx context.Context, opts *Options) error {
	rd, err := opts.Reader(ctx)
	if err != nil {
		return err
	}
	out := newWriter(opts.IO.Out, opts.Output, opts.Limit)
	err = rd.Query(ctx, store.ReaderQuery{SQL: opts.Query, Timeout: opts.Timeout}, out)
	if err != nil {
		// What was streamed stays; a JSON array is left unclosed, so that
		// a parser does not take part of a result for all of it.
		_ = out.flush()
		if errors.Is(err, store.ErrReaderConnect) {
			return fmt.Errorf("%w; tunectl sql logs in with --reader-url or %s (see README.md, Querying results)", err, process.EnvReaderURL)
		}
		if errors.Is(err, store.ErrQuery) && strings.Contains(err.Error(), "statement timeout") {
			return fmt.Errorf("%w; --timeout sets the limit", err)
		}
		return err
	}
	if err := out.finish(); err != nil {
		return err
	}
	if out.truncated {
		fmt.Fprintf(opts.IO.ErrOut, "tunectl: output truncated to the first %d rows (--limit)\n", opts.Limit)
	}
	return nil
}
