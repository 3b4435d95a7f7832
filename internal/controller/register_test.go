package controller

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/workflows"
)

// nameRegistry records the names activities are registered under.
type nameRegistry struct {
	sdkworker.ActivityRegistry // the methods the registration must not use
	names                      []string
}

func (r *nameRegistry) RegisterActivity(a any) { r.names = append(r.names, "<unnamed>") }
func (r *nameRegistry) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

// TestRegisterActivitiesUnderWorkflowNames: every activity the workflows
// call on the studies queue is registered, under exactly its name (saved
// histories name them).
func TestRegisterActivitiesUnderWorkflowNames(t *testing.T) {
	var r nameRegistry
	RegisterActivities(&r, &Activities{})
	got, want := slices.Sorted(slices.Values(r.names)), slices.Sorted(slices.Values(workflows.ControllerActivityNames))
	if !slices.Equal(got, want) {
		t.Fatalf("registered %v, want %v", got, want)
	}
	if want := []string{"AwaitMetrics", "CreateStudy", "Decide", "Exploit", "FinishStudy", "Record", "Suggest"}; !slices.Equal(got, want) {
		t.Fatalf("activity names changed: %v, the saved histories use %v", got, want)
	}
}
