// Package sql implements `tunectl sql`: read-only queries over the ranking
// views, with the privileges of the relutune_reader role.
package sql

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// Options are sql's inputs.
type Options struct {
	IO     *cmdutil.IOStreams
	F      *cmdutil.Factory
	Query  string
	Output string
}

// NewCmdSQL returns the sql command.
func NewCmdSQL(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, F: f}
	cmd := &cobra.Command{
		Use:   "sql <query>",
		Short: "Run a read-only SQL query over the result views",
		Long: `Run a read-only SQL query as the relutune_reader role, which may read the
views trial_ranking, config_ranking, activation_summary, activation_seed_means
and trial_diagnostics, and nothing else; nothing can be changed. "-" reads the
query from standard input.`,
		Example: `  tunectl sql "SELECT activation, n, mean, ci95_low, ci95_high FROM activation_summary WHERE study = 'quickstart'"
  tunectl sql --output csv "SELECT * FROM trial_ranking" > ranking.csv
  echo "SELECT * FROM config_ranking LIMIT 5" | tunectl sql -`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			opts.Query = args[0]
			if opts.Query == "-" {
				b, err := io.ReadAll(opts.IO.In)
				if err != nil {
					return err
				}
				opts.Query = string(b)
			}
			if strings.TrimSpace(opts.Query) == "" {
				return cmdutil.Usagef("the query is empty")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			st, err := f.Store(cmd.Context())
			if err != nil {
				return err
			}
			res, err := st.QueryAsReader(cmd.Context(), opts.Query)
			if err != nil {
				return err
			}
			return Table(res).Render(opts.IO.Out, opts.Output)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, json, csv")
	return cmd
}

// Table renders a query result; JSON has one object per row.
func Table(res store.ReaderResult) cmdutil.Table {
	t := cmdutil.Table{Header: res.Columns}
	records := make([]map[string]any, 0, len(res.Rows))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		rec := make(map[string]any, len(row))
		for i, v := range row {
			cells[i] = format(v)
			rec[res.Columns[i]] = jsonValue(v)
		}
		t.Rows = append(t.Rows, cells)
		records = append(records, rec)
	}
	t.Records = records
	return t
}

func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return fmt.Sprintf("%.6g", x)
	case time.Time:
		return x.Format(time.RFC3339)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	case []byte:
		return string(x)
	case json.Marshaler: // numeric, intervals, ... as Postgres would print them
		if b, err := x.MarshalJSON(); err == nil {
			return strings.Trim(string(b), `"`)
		}
	}
	return fmt.Sprint(v)
}

func jsonValue(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprint(v) // NaN and other values JSON cannot hold
	}
	return v
}
