// Package deletecmd implements `tunectl delete`: remove a finished study
// and everything kept of it, so that its name can be used again.
package deletecmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// Rows removes the study's rows.
type Rows interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	DeleteStudy(ctx context.Context, name string) (trials int64, err error)
}

// Workflows are the study's Temporal workflows.
type Workflows interface {
	// Running reports whether the study's workflow is running.
	Running(ctx context.Context, study string) (bool, error)
	// Delete removes every execution of the study's workflow and of its
	// trials' workflows (studies of earlier versions), and returns once
	// none is left, with how many it removed.
	Delete(ctx context.Context, study string) (int, error)
}

// Messages are the study's messages in the metric stream.
type Messages interface {
	Purge(ctx context.Context, study string) (uint64, error)
}

// Objects are the study's checkpoints and kept models.
type Objects interface {
	DeleteStudy(ctx context.Context, study string) (int, error)
}

// Options are delete's inputs.
type Options struct {
	IO        *cmdutil.IOStreams
	Rows      func(context.Context) (Rows, error)
	Workflows func(context.Context) (Workflows, error)
	Messages  func(context.Context) (Messages, error)
	Objects   func(context.Context) (Objects, error)
	Study     string
	Yes       bool
	Bucket    string
}

// NewCmdDelete returns the delete command; runF replaces the default
// action in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Bucket: ckptstore.DefaultBucket}
	opts.Rows = func(ctx context.Context) (Rows, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	opts.Workflows = func(ctx context.Context) (Workflows, error) {
		tc, err := f.Temporal(ctx)
		if err != nil {
			return nil, err
		}
		return temporalWorkflows{tc: tc, namespace: f.Conn.TemporalNamespace}, nil
	}
	opts.Messages = func(ctx context.Context) (Messages, error) {
		js, err := f.JetStream()
		if err != nil {
			return nil, err
		}
		return streamMessages{js: js, cfg: f.Events}, nil
	}
	opts.Objects = func(ctx context.Context) (Objects, error) {
		js, err := f.JetStream()
		if err != nil {
			return nil, err
		}
		return ckptstore.New(js, ckptstore.Config{Bucket: opts.Bucket})
	}
	cmd := &cobra.Command{
		Use:   "delete <study> --yes",
		Short: "Delete a study that is not running and everything kept of it; its name can be used again",
		Long: `Delete a study that is not running: its Temporal workflows (and those of its
trials, for studies of earlier versions), its messages in the metric stream,
its checkpoints and kept models in the object store, and its rows (trials,
metrics, rung values, dead letters). Each part is removed before the next,
the rows last, so a delete that stops half way can be run again. Afterwards
the name can be submitted again. Cancel or stop a running study first.`,
		Example: `  tunectl delete quickstart --yes`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if err := spec.ValidateName(opts.Study); err != nil {
				return cmdutil.Usagef("study: %v", err)
			}
			if !opts.Yes {
				return cmdutil.Usagef("delete removes study %s and all its results for good: add --yes", opts.Study)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "confirm the deletion")
	cmd.Flags().StringVar(&opts.Bucket, "checkpoint-bucket", opts.Bucket, "the workers' checkpoint bucket")
	return cmd
}

func runDelete(ctx context.Context, opts *Options) error {
	out := opts.IO.Out
	rows, err := opts.Rows(ctx)
	if err != nil {
		return err
	}
	_, err = rows.StudyByName(ctx, opts.Study)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("look up study %s: %w", opts.Study, err)
	}
	wfs, err := opts.Workflows(ctx)
	if err != nil {
		return err
	}
	running, err := wfs.Running(ctx, opts.Study)
	if err != nil {
		return err
	}
	if running {
		return fmt.Errorf("study %s is running: cancel it first (tunectl cancel %s), then delete it", opts.Study, opts.Study)
	}
	n, err := wfs.Delete(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("delete the workflows of %s: %w", opts.Study, err)
	}
	msgs, err := opts.Messages(ctx)
	if err != nil {
		return err
	}
	purged, err := msgs.Purge(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("purge the messages of %s: %w", opts.Study, err)
	}
	objs, err := opts.Objects(ctx)
	if err != nil {
		return err
	}
	removed, err := objs.DeleteStudy(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("delete the checkpoints of %s: %w", opts.Study, err)
	}
	trials, err := rows.DeleteStudy(ctx, opts.Study)
	if err != nil {
		return err
	}
	if !known && n == 0 && purged == 0 && removed == 0 {
		return fmt.Errorf("study %s: %w", opts.Study, store.ErrNotFound)
	}
	fmt.Fprintf(out, "deleted study %s: %d trials, %d workflow executions, %d messages, %d checkpoints and models\n",
		opts.Study, trials, n, purged, removed)
	return nil
}

// temporalWorkflows deletes workflow executions through the Temporal
// client.
type temporalWorkflows struct {
	tc        client.Client
	namespace string
}

func (w temporalWorkflows) Running(ctx context.Context, study string) (bool, error) {
	d, err := w.tc.DescribeWorkflow(ctx, workflows.StudyWorkflowID(study), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe the workflow of %s: %w", study, err)
	}
	return d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// deleteWait bounds how long Delete waits for the server to remove the
// executions (deletion runs in the background on the server).
const deleteWait = time.Minute

func (w temporalWorkflows) Delete(ctx context.Context, study string) (int, error) {
	// The name passed spec.ValidateName: no quote can end the literal.
	query := fmt.Sprintf("WorkflowId = '%s' OR RelutuneStudy = '%s'", workflows.StudyWorkflowID(study), study)
	deleted := map[string]bool{}
	deadline := time.Now().Add(deleteWait)
	for {
		var left []*commonpb.WorkflowExecution
		var token []byte
		for {
			resp, err := w.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: w.namespace, Query: query, NextPageToken: token,
			})
			if err != nil {
				return len(deleted), fmt.Errorf("list workflows: %w", err)
			}
			for _, e := range resp.GetExecutions() {
				left = append(left, e.GetExecution())
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		// Visibility can lag: the study's own execution is looked up by id too.
		if _, err := w.tc.DescribeWorkflow(ctx, workflows.StudyWorkflowID(study), ""); err == nil {
			left = append(left, &commonpb.WorkflowExecution{WorkflowId: workflows.StudyWorkflowID(study)})
		}
		if len(left) == 0 {
			return len(deleted), nil
		}
		if time.Now().After(deadline) {
			return len(deleted), fmt.Errorf("%d workflow executions still listed after %s", len(left), deleteWait)
		}
		for _, e := range left {
			_, err := w.tc.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
				Namespace: w.namespace, WorkflowExecution: e,
			})
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				return len(deleted), fmt.Errorf("delete workflow %s: %w", e.GetWorkflowId(), err)
			}
			deleted[e.GetWorkflowId()+"/"+e.GetRunId()] = true
		}
		select {
		case <-ctx.Done():
			return len(deleted), ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// streamMessages purges a study's subjects from the metric stream.
type streamMessages struct {
	js  jetstream.JetStream
	cfg events.Config
}

func (m streamMessages) Purge(ctx context.Context, study string) (uint64, error) {
	cfg := m.cfg.WithDefaults()
	st, err := m.js.Stream(ctx, cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(cfg.StudySubjects(study)))
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(cfg.StudySubjects(study))); err != nil {
		return 0, err
	}
	return n, nil
}
