// Package submit implements `tunectl submit`.
package submit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/validate"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// StudyFinder is what submit reads from the store.
type StudyFinder interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
}

// StudyStarter is the part of the Temporal client that starts a study's
// workflow; a client.Client is one.
type StudyStarter interface {
	DescribeWorkflow(ctx context.Context, workflowID, runID string) (*client.WorkflowExecutionDescription, error)
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Options are submit's inputs.
type Options struct {
	IO       *cmdutil.IOStreams
	Studies  func(context.Context) (StudyFinder, error)
	Temporal func(context.Context) (StudyStarter, error)
	// StudiesQueue and TrialsQueue are where the study runs.
	StudiesQueue string
	TrialsQueue  string
	// TemporalUI and Namespace make the link to the study's workflow (no
	// link when TemporalUI is empty).
	TemporalUI string
	Namespace  string
	File       string
	// Name, when set, replaces the spec's name.
	Name string
	// MaxTrialMemory is the budget of one trial's estimated peak memory.
	MaxTrialMemory int64
	// Spec is the parsed spec and Report what its checks found (filled by
	// the command before runF).
	Spec   *spec.Spec
	Report *spec.Report
}

// NewCmdSubmit returns the submit command; runF replaces the default action in tests.
func NewCmdSubmit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO: f.IO,
		Studies: func(ctx context.Context) (StudyFinder, error) {
			st, err := f.Store(ctx)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		Temporal: func(ctx context.Context) (StudyStarter, error) {
			tc, err := f.Temporal(ctx)
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
		MaxTrialMemory: spec.DefaultMaxTrialMemory,
	}
	cmd := &cobra.Command{
		Use:   "submit <study.yaml>",
		Short: "Validate a study spec and start the study",
		Long: `Validate a study spec (YAML or JSON; "-" reads standard input) and start its
StudyWorkflow with id study-<name>. The spec is checked as 'tunectl validate'
checks it, memory budget included, before anything is stored or started.
Submitting the same spec again is a no-op; the same name with a different
spec is an error.`,
		Example: `  tunectl submit examples/quickstart.yaml
  tunectl submit examples/quickstart.yaml --name quickstart-2
  tunectl submit study.json && tunectl watch relu-variants-mnist`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			// The root command's flags are parsed by now.
			opts.StudiesQueue, opts.TrialsQueue = f.StudiesQueue, f.TrialsQueue
			opts.TemporalUI, opts.Namespace = f.TemporalUI, f.Conn.TemporalNamespace
			sp, rep, err := validate.ReadSpec(opts.IO.In, opts.File, opts.Name, spec.Options{MaxTrialMemory: opts.MaxTrialMemory})
			if err != nil {
				return err
			}
			opts.Spec, opts.Report = sp, rep
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSubmit(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "use this study name instead of the spec's")
	validate.AddMemoryFlag(cmd.Flags(), &opts.MaxTrialMemory)
	return cmd
}

const memoSpecHash = "spec_hash"

func runSubmit(ctx context.Context, opts *Options) error {
	sp := opts.Spec
	out := opts.IO.Out
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	// A stored study with this name decides: same spec is a no-op, another
	// spec is an error. The row is written by the workflow's first activity,
	// so a study submitted moments ago is checked through Temporal below.
	stored, err := st.StudyByName(ctx, sp.Name)
	switch {
	case err == nil:
		if stored.SpecHash != sp.Hash() {
			return fmt.Errorf("study %q already exists with a different spec (stored %s, this %s); choose another name", sp.Name, stored.SpecHash, sp.Hash())
		}
		fmt.Fprintf(out, "study %s was already submitted (status %s); nothing to do\n", sp.Name, stored.Status)
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("look up study %s: %w", sp.Name, err)
	}

	tc, err := opts.Temporal(ctx)
	if err != nil {
		return err
	}
	id := workflows.StudyWorkflowID(sp.Name)
	if hash, status, found, err := describe(ctx, tc, id); err != nil {
		return err
	} else if found {
		if hash != sp.Hash() {
			return fmt.Errorf("study %q already exists with a different spec (workflow %s has %s, this %s); choose another name", sp.Name, id, hash, sp.Hash())
		}
		fmt.Fprintf(out, "study %s was already submitted (workflow %s)\n", sp.Name, status)
		return nil
	}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                opts.StudiesQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                     map[string]any{memoSpecHash: sp.Hash()},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrStudy.ValueSet(sp.Name),
			workflows.AttrStatus.ValueSet(string(search.StudyRunning)),
		),
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: opts.TrialsQueue})
	if err != nil {
		return fmt.Errorf("start study %s: %w", sp.Name, err)
	}
	// USE_EXISTING returns a concurrent submitter's run: make sure it is ours.
	if hash, _, _, err := describe(ctx, tc, id); err == nil && hash != "" && hash != sp.Hash() {
		return fmt.Errorf("study %q was submitted concurrently with a different spec (%s); choose another name", sp.Name, hash)
	}
	fmt.Fprintf(out, "submitted study %s (workflow %s, run %s)\n", sp.Name, id, run.GetRunID())
	fmt.Fprintf(out, "  %d trials, %s search, parallelism %d, %d replicate(s)\n",
		sp.Search.MaxTrials, sp.Search.Algorithm, sp.Search.Parallelism, sp.Search.Replicates)
	if rep := opts.Report; rep != nil && rep.MemoryUnknown == "" {
		fmt.Fprintf(out, "  estimated peak memory %s per trial (%s)\n", trainer.FormatBytes(rep.Memory.Total()), strings.Join(rep.Drivers, ", "))
	}
	fmt.Fprintf(out, "follow it: tunectl watch %s\n", sp.Name)
	if opts.TemporalUI != "" {
		fmt.Fprintf(out, "Temporal UI: %s/namespaces/%s/workflows/%s\n", opts.TemporalUI, opts.Namespace, id)
	}
	return nil
}

// describe returns the spec hash and status of a study's workflow.
func describe(ctx context.Context, tc StudyStarter, id string) (hash, status string, found bool, err error) {
	d, err := tc.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	status = d.Status.String()
	if p, ok := d.Memo.GetFields()[memoSpecHash]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &hash)
	}
	return hash, status, true, nil
}
