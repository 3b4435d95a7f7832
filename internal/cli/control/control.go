// Package control implements the commands that steer a running study:
// `tunectl cancel`, `tunectl stop` and `tunectl extend`.
package control

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/workflows"
)

// NewCmdCancel returns the cancel command.
func NewCmdCancel(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "cancel <study>",
		Short:   "Cancel a study: running trials stop within about two seconds and are recorded canceled (one that finished training first keeps its result)",
		Example: "  tunectl cancel relu-variants-mnist",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tc, err := f.Temporal(cmd.Context())
			if err != nil {
				return err
			}
			id := workflows.StudyWorkflowID(args[0])
			if err := tc.CancelWorkflow(cmd.Context(), id, ""); err != nil {
				return fmt.Errorf("cancel study %s: %w", args[0], err)
			}
			fmt.Fprintf(f.IO.Out, "cancel requested for study %s; running trials stop within %s\n", args[0], workflows.TrainHeartbeatTimeout)
			return nil
		},
	}
}

// NewCmdStop returns the stop command.
func NewCmdStop(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "stop <study>",
		Short:   "Stop a study gracefully: running trials finish, no new ones start",
		Example: "  tunectl stop relu-variants-mnist",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := update(cmd.Context(), f, args[0], workflows.UpdateStop)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "study %s is stopping: %d trial(s) still running, no new ones start\n", args[0], len(st.Running))
			return nil
		},
	}
}

// NewCmdExtend returns the extend command.
func NewCmdExtend(f *cmdutil.Factory) *cobra.Command {
	var trials int
	cmd := &cobra.Command{
		Use:     "extend <study> --trials N",
		Short:   "Add trials to a running study's budget",
		Example: "  tunectl extend relu-variants-mnist --trials 50",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trials < 1 {
				return cmdutil.Usagef("--trials: %d must be >= 1", trials)
			}
			st, err := update(cmd.Context(), f, args[0], workflows.UpdateAddTrials, workflows.AddTrialsRequest{Trials: trials})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "study %s: budget is now %d trials\n", args[0], st.Budget)
			return nil
		},
	}
	cmd.Flags().IntVar(&trials, "trials", 0, "number of trials to add (required)")
	_ = cmd.MarkFlagRequired("trials")
	return cmd
}

func update(ctx context.Context, f *cmdutil.Factory, study, name string, args ...any) (workflows.StudyStatus, error) {
	var st workflows.StudyStatus
	tc, err := f.Temporal(ctx)
	if err != nil {
		return st, err
	}
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.StudyWorkflowID(study),
		UpdateName:   name,
		Args:         args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return st, fmt.Errorf("%s study %s: %w", name, study, err)
	}
	if err := h.Get(ctx, &st); err != nil {
		return st, fmt.Errorf("%s study %s: %w", name, study, err)
	}
	return st, nil
}
