// Package root assembles tunectl's command tree.
package root

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/compare"
	"github.com/relutune/relutune/internal/cli/confirm"
	"github.com/relutune/relutune/internal/cli/control"
	"github.com/relutune/relutune/internal/cli/dashboard"
	"github.com/relutune/relutune/internal/cli/deletecmd"
	"github.com/relutune/relutune/internal/cli/export"
	"github.com/relutune/relutune/internal/cli/importance"
	"github.com/relutune/relutune/internal/cli/list"
	"github.com/relutune/relutune/internal/cli/plot"
	"github.com/relutune/relutune/internal/cli/report"
	sqlcmd "github.com/relutune/relutune/internal/cli/sql"
	"github.com/relutune/relutune/internal/cli/status"
	"github.com/relutune/relutune/internal/cli/submit"
	"github.com/relutune/relutune/internal/cli/top"
	"github.com/relutune/relutune/internal/cli/train"
	"github.com/relutune/relutune/internal/cli/validate"
	"github.com/relutune/relutune/internal/cli/watch"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/workflows"
)

// NewCmdRoot returns tunectl's root command, its flags bound to f.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tunectl",
		Short: "Run and inspect relutune hyperparameter studies",
		Long: `tunectl submits relutune studies, follows them live and ranks their results.

Connections come from flags, with defaults from RELUTUNE_DATABASE_URL,
RELUTUNE_READER_URL (tunectl sql), RELUTUNE_NATS_URL, RELUTUNE_TEMPORAL_ADDRESS
and RELUTUNE_TEMPORAL_NAMESPACE. TLS and credentials for Temporal and NATS
(--temporal-tls-*, --temporal-api-key, --nats-creds, --nats-nkey, --nats-tls-*)
are listed with --help and in docs/security.md; passwords in URLs are never
printed.`,
		Example: `  tunectl submit examples/quickstart.yaml
  tunectl watch quickstart
  tunectl top quickstart --output json`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetIn(f.IO.In)
	pf := cmd.PersistentFlags()
	f.Conn.Register(pf, true)
	pf.StringVar(&f.StudiesQueue, "studies-queue", workflows.StudiesQueue, "Temporal task queue of study workflows")
	pf.StringVar(&f.TrialsQueue, "trials-queue", workflows.TrialsQueue, "Temporal task queue of training workers")
	pf.StringVar(&f.TemporalUI, "temporal-ui", process.Env(process.EnvTemporalUI, process.DefaultTemporalUI), "Temporal Web UI base URL, for links (env "+process.EnvTemporalUI+")")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: fmt.Errorf("%w; see '%s --help'", err, c.CommandPath())}
	})
	cmd.AddCommand(
		submit.NewCmdSubmit(f, nil),
		validate.NewCmdValidate(f.IO, nil),
		list.NewCmdList(f, nil),
		status.NewCmdStatus(f, nil),
		watch.NewCmdWatch(f, nil),
		top.NewCmdTop(f, nil),
		compare.NewCmdCompare(f, nil),
		control.NewCmdCancel(f, nil),
		control.NewCmdStop(f, nil),
		control.NewCmdExtend(f, nil),
		control.NewCmdEnqueue(f, nil),
		confirm.NewCmdConfirm(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		train.NewCmdTrain(f.IO, nil),
		sqlcmd.NewCmdSQL(f, nil),
		export.NewCmdExport(f, nil),
		plot.NewCmdPlot(f, nil),
		importance.NewCmdImportance(f, nil),
		report.NewCmdReport(f, nil),
		dashboard.NewCmdDashboard(f, nil),
	)
	for _, c := range cmd.Commands() {
		if studyArg[c.Name()] {
			c.ValidArgsFunction = f.CompleteStudies
		}
	}
	return cmd
}

// studyArg names the commands whose argument is a study.
var studyArg = map[string]bool{
	"status": true, "watch": true, "top": true, "compare": true, "export": true,
	"stop": true, "extend": true, "cancel": true, "plot": true,
	"importance": true, "report": true, "confirm": true, "delete": true, "enqueue": true,
}

// Execute runs tunectl with args and returns the process exit code.
func Execute(ctx context.Context, io *cmdutil.IOStreams, args []string) int {
	return ExecuteWith(ctx, io, args, nil)
}

// ExecuteWith is Execute with a hook that adjusts the factory after flags
// are bound (tests point it at their own stream).
func ExecuteWith(ctx context.Context, io *cmdutil.IOStreams, args []string, configure func(*cmdutil.Factory)) int {
	f := &cmdutil.Factory{IO: io}
	defer f.Close()
	cmd := NewCmdRoot(f)
	if configure != nil {
		configure(f)
	}
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		var ue *cmdutil.UsageError
		if errors.As(err, &ue) {
			fmt.Fprintln(io.ErrOut, "tunectl:", err)
		} else {
			fmt.Fprintln(io.ErrOut, "tunectl: error:", err)
		}
		// Unknown commands come back from cobra as plain errors.
		if isUnknownCommand(err) {
			return cmdutil.ExitUsage
		}
	}
	return cmdutil.ExitCode(err)
}

func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}
