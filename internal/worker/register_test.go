package worker

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/workflows"
)

type nameRegistry struct {
	sdkworker.ActivityRegistry // the methods the registration must not use
	names                      []string
}

func (r *nameRegistry) RegisterActivity(a any) { r.names = append(r.names, "<unnamed>") }
func (r *nameRegistry) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

// TestRegisterActivitiesUnderWorkflowNames: the worker registers each
// activity the workflows call on the trials queue, under exactly its name.
func TestRegisterActivitiesUnderWorkflowNames(t *testing.T) {
	var r nameRegistry
	RegisterActivities(&r, &Activities{})
	got := slices.Sorted(slices.Values(r.names))
	if want := slices.Sorted(slices.Values(workflows.WorkerActivityNames)); !slices.Equal(got, want) {
		t.Fatalf("registered %v, want %v", got, want)
	}
	if want := []string{"CopyCheckpoint", "RemoveCheckpoints", "TrainTrial"}; !slices.Equal(got, want) {
		t.Fatalf("activity names changed: %v, the saved histories use %v", got, want)
	}
}
