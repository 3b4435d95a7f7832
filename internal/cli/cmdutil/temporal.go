package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/relutune/relutune/workflows"
)

// WorkflowQuerier is the part of the Temporal client that reads a
// workflow's state; a client.Client is one.
type WorkflowQuerier interface {
	DescribeWorkflow(ctx context.Context, workflowID, runID string) (*client.WorkflowExecutionDescription, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// QueryStudy asks a running study's workflow for its live status. running
// is false when the workflow has closed; a missing workflow is an error.
func QueryStudy(ctx context.Context, tc WorkflowQuerier, study string) (st workflows.StudyStatus, running bool, err error) {
	id := workflows.StudyWorkflowID(study)
	d, err := tc.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return st, false, fmt.Errorf("study %q: no workflow %s", study, id)
	}
	if err != nil {
		return st, false, err
	}
	if d.WorkflowCloseTime != nil {
		return st, false, nil
	}
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return st, true, fmt.Errorf("query study %s: %w", study, err)
	}
	if err := v.Get(&st); err != nil {
		return st, true, err
	}
	return st, true, nil
}
