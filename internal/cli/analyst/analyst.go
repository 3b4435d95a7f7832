// Package analyst opens the read-only connection that tunectl's analysis
// commands (dashboard, importance, plot, report) read studies with: the
// relutune_reader role, never the owner.
package analyst

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/redact"
	"github.com/relutune/relutune/internal/store"
)

// AddReaderFlag registers --reader-url on cmd.
func AddReaderFlag(cmd *cobra.Command, url *string) {
	cmd.Flags().StringVar(url, "reader-url", "", "Postgres URL of the read-only role (default: "+process.EnvReaderURL+", else --database-url's server as relutune_reader)")
}

// Open logs in as the reader: flag when set, else RELUTUNE_READER_URL,
// else the database URL's server as relutune_reader.
func Open(ctx context.Context, f *cmdutil.Factory, flag string) (*store.Reader, error) {
	url, err := f.ReaderURL(flag)
	if err != nil {
		return nil, err
	}
	r, err := store.OpenReader(ctx, url)
	return r, redact.Error(err, url)
}
