// Package control implements the commands that steer a running study:
// `tunectl cancel`, `tunectl stop`, `tunectl extend` and `tunectl enqueue`.
package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/workflows"
)

// StudyControl is the part of the Temporal client that steers a study's
// workflow; a client.Client is one.
type StudyControl interface {
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// Options are the inputs of cancel, stop and extend.
type Options struct {
	IO       *cmdutil.IOStreams
	Temporal func(context.Context) (StudyControl, error)
	Study    string
	// Trials is how many trials extend adds.
	Trials int
	// Configs are what enqueue adds.
	Configs []search.Config
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IO, Temporal: func(ctx context.Context) (StudyControl, error) {
		tc, err := f.Temporal(ctx)
		if err != nil {
			return nil, err
		}
		return tc, nil
	}}
}

// NewCmdCancel returns the cancel command; runF replaces its action in tests.
func NewCmdCancel(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:     "cancel <study>",
		Short:   "Cancel a study: running trials stop within about two seconds and are recorded canceled (one that finished training first keeps its result)",
		Example: "  tunectl cancel relu-variants-mnist",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCancel(cmd.Context(), opts)
		},
	}
}

// NewCmdStop returns the stop command; runF replaces its action in tests.
func NewCmdStop(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:     "stop <study>",
		Short:   "Stop a study gracefully: running trials finish, no new ones start",
		Example: "  tunectl stop relu-variants-mnist",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStop(cmd.Context(), opts)
		},
	}
}

// NewCmdExtend returns the extend command; runF replaces its action in tests.
func NewCmdExtend(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:     "extend <study> --trials N",
		Short:   "Add trials to a running study's budget",
		Example: "  tunectl extend relu-variants-mnist --trials 50",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if opts.Trials < 1 {
				return cmdutil.Usagef("--trials: %d must be >= 1", opts.Trials)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExtend(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Trials, "trials", 0, "number of trials to add (required)")
	_ = cmd.MarkFlagRequired("trials")
	return cmd
}

// NewCmdEnqueue returns the enqueue command; runF replaces its action in tests.
func NewCmdEnqueue(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "enqueue <study> <params.yaml>",
		Short: "Run given configurations next in a running study, with its replicate seeds",
		Long: `Add configurations to a running study: they run, each with the study's
replicate seeds, before any further one the sampler proposes, and the budget
grows by as many trials. params.yaml (or - for standard input) holds one
configuration (parameter name to value, as in the spec's space) or a list of
them; each must lie in the study's space (values in range, conditional
parameters exactly where they apply). A new study takes the same list as
'enqueue:' in its spec.`,
		Example: `  tunectl enqueue relu-variants-mnist baselines.yaml
  echo '{activation: relu, init: he_normal, learning_rate: 0.01, batch_size: 64}' | tunectl enqueue quickstart -`,
		Args: cmdutil.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			configs, err := readConfigs(opts.IO.In, args[1])
			if err != nil {
				return err
			}
			opts.Configs = configs
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runEnqueue(cmd.Context(), opts)
		},
	}
	return cmd
}

// readConfigs reads one configuration or a list of them from a YAML or
// JSON file ("-" for r).
func readConfigs(r io.Reader, path string) ([]search.Config, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", path, maxConfigBytes)
	}
	var list []map[string]any
	if err := yaml.Unmarshal(data, &list); err != nil {
		var one map[string]any
		if err2 := yaml.Unmarshal(data, &one); err2 != nil {
			return nil, fmt.Errorf("%s: not a configuration or a list of them: %w", path, err)
		}
		list = []map[string]any{one}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no configuration", path)
	}
	out := make([]search.Config, len(list))
	for i, m := range list {
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: configuration %d is empty", path, i)
		}
		out[i] = search.Config{}
		for name, x := range m {
			v, err := search.ValueOf(x)
			if err != nil {
				return nil, fmt.Errorf("%s: configuration %d: %s: %w", path, i, name, err)
			}
			out[i][name] = v
		}
	}
	return out, nil
}

// maxConfigBytes bounds an enqueue file.
const maxConfigBytes = 1 << 20

func runEnqueue(ctx context.Context, opts *Options) error {
	st, err := update(ctx, opts, workflows.UpdateEnqueue, workflows.EnqueueRequest{Configs: opts.Configs})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "study %s: %d configuration(s) run next; budget is now %d trials\n", opts.Study, len(opts.Configs), st.Budget)
	return nil
}

func runCancel(ctx context.Context, opts *Options) error {
	tc, err := opts.Temporal(ctx)
	if err != nil {
		return err
	}
	id := workflows.StudyWorkflowID(opts.Study)
	if err := tc.CancelWorkflow(ctx, id, ""); err != nil {
		return studyError("cancel", opts.Study, err)
	}
	fmt.Fprintf(opts.IO.Out, "cancel requested for study %s; running trials stop within %s\n", opts.Study, workflows.TrainHeartbeatTimeout)
	return nil
}

func runStop(ctx context.Context, opts *Options) error {
	st, err := update(ctx, opts, workflows.UpdateStop)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "study %s is stopping: %d trial(s) still running, no new ones start\n", opts.Study, len(st.Running))
	return nil
}

func runExtend(ctx context.Context, opts *Options) error {
	st, err := update(ctx, opts, workflows.UpdateAddTrials, workflows.AddTrialsRequest{Trials: opts.Trials})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "study %s: budget is now %d trials\n", opts.Study, st.Budget)
	return nil
}

func update(ctx context.Context, opts *Options, name string, args ...any) (workflows.StudyStatus, error) {
	var st workflows.StudyStatus
	tc, err := opts.Temporal(ctx)
	if err != nil {
		return st, err
	}
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.StudyWorkflowID(opts.Study),
		UpdateName:   name,
		Args:         args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return st, studyError(name, opts.Study, err)
	}
	if err := h.Get(ctx, &st); err != nil {
		return st, studyError(name, opts.Study, err)
	}
	return st, nil
}

// studyError says what failed on which study; a study without a workflow
// is named as such.
func studyError(verb, study string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%s study %s: no workflow %s (is the study name right? tunectl list shows them): %w", verb, study, workflows.StudyWorkflowID(study), err)
	}
	return fmt.Errorf("%s study %s: %w", verb, study, err)
}
