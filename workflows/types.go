// Package workflows holds relutune's Temporal workflows, the inputs and
// outputs of their workflows and activities, their search attributes, and
// the names the activities are registered under.
//
// StudyWorkflow (task queue relutune-studies) runs a study: it asks the
// Suggest activity for configurations, runs each trial (the TrainTrial
// activity on a worker, task queue relutune-trials, then Record) with at
// most `parallelism` at once, and finishes the study when its budget is
// spent, it is stopped, or it is canceled. The controller's activities,
// which touch Postgres (internal/controller), run as local activities in
// the controller's workflow tasks; workers (internal/worker) only train and
// publish metrics. Studies started before the inline-trials change ran each
// trial as a child TrialWorkflow; that workflow stays registered for them
// and their histories. The workflows call activities by name
// (activities.go), so this package depends on none of their
// implementations, nor on any adapter.
package workflows

import (
	"strconv"
	"time"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

// Default task queues.
const (
	StudiesQueue = "relutune-studies"
	TrialsQueue  = "relutune-trials"
)

// Names under which workflows, queries and updates are registered.
const (
	StudyWorkflowName = "StudyWorkflow"
	TrialWorkflowName = "TrialWorkflow"
	QueryStatus       = "status"
	UpdateStop        = "stop"
	UpdateAddTrials   = "add-trials"
	// UpdateEnqueue adds configurations (EnqueueRequest) that run, with
	// the study's replicate seeds, before any the sampler proposes.
	UpdateEnqueue = "enqueue"
	// UpdateReport is how a running trial reports its objective at a rung
	// epoch and learns whether to go on (ASHA, median stopping).
	UpdateReport = "report"
)

// Application error types that classify a failed TrainTrial.
const (
	ErrTypeDiverged      = "Diverged"
	ErrTypeInvalidConfig = "InvalidConfig"
	// ErrTypeInfrastructure is a failure of the worker's environment (its
	// dataset files, the metric stream, its checkpoint disk, the study's
	// report update) rather than of the trial. TrialWorkflow retries it
	// under its own limit, without spending the trial's attempts.
	ErrTypeInfrastructure = "Infrastructure"
)

// InfrastructureErrorPrefix starts the stored error of a trial that
// failed because its infrastructure failures ran out (status failed). A
// trial's own failures never carry it; max_failed_trials counts only those.
const InfrastructureErrorPrefix = "infrastructure: "

// HostQueue is the task queue that only the worker named worker, polling
// trialsQueue, listens on: activities that must run where that worker
// keeps its files (RemoveCheckpoints) go there.
func HostQueue(trialsQueue, worker string) string { return trialsQueue + "-host-" + worker }

// StudyWorkflowID is the workflow id of a study.
func StudyWorkflowID(name string) string { return "study-" + name }

// TrialWorkflowID is the workflow id of a study's trial.
func TrialWorkflowID(study string, number int) string {
	return StudyWorkflowID(study) + "-trial-" + strconv.Itoa(number)
}

// StudyInput starts (or continues) a study.
type StudyInput struct {
	Spec spec.Spec `json:"spec"`
	// TrialsQueue is where TrainTrial activities go (default TrialsQueue).
	TrialsQueue string `json:"trials_queue,omitempty"`
	// TrialsPerRun bounds how many trials one run starts before it
	// continues as new (default 500), keeping the history small.
	TrialsPerRun int `json:"trials_per_run,omitempty"`
	// HeartbeatTimeout overrides TrainHeartbeatTimeout (tests use a short one).
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
	// MetricsWait overrides DefaultMetricsWait: how long the study waits,
	// before it is finished, for its trials' metric rows to land.
	MetricsWait time.Duration `json:"metrics_wait,omitempty"`
	// State is nil on the first run and carried across ContinueAsNew.
	State *StudyState `json:"state,omitempty"`
}

// StudyState is everything a study needs to go on after ContinueAsNew.
type StudyState struct {
	StudyID    int64                `json:"study_id"`
	NextNumber int                  `json:"next_number"` // trials suggested so far
	Budget     int                  `json:"budget"`      // max_trials plus added trials
	Counts     map[search.State]int `json:"counts"`      // final outcomes by status
	Best       *TrialResult         `json:"best,omitempty"`
	Stopped    bool                 `json:"stopped,omitempty"`
	Exhausted  bool                 `json:"exhausted,omitempty"`
	StartedAt  int64                `json:"started_at"` // unix nanoseconds of the first run
	Queue      []TrialAssignment    `json:"queue,omitempty"`
	Runs       int                  `json:"runs"` // completed ContinueAsNew cycles
	// InfraFailed counts the failed trials (in Counts["failed"]) whose
	// infrastructure failures ran out; max_failed_trials leaves them out.
	InfraFailed int `json:"infra_failed,omitempty"`
	// Given are configurations to run, with their seeds, before any the
	// sampler proposes (`tunectl confirm`); they are stored as trials by
	// Suggest in this order.
	Given []GivenTrial `json:"given,omitempty"`
}

// EnqueueRequest is the enqueue update's argument.
type EnqueueRequest struct {
	Configs []search.Config `json:"configs"`
}

// GivenTrial is a configuration to run as a trial with a given seed.
type GivenTrial struct {
	Params    search.Config `json:"params"`
	Seed      uint64        `json:"seed"`
	Replicate int           `json:"replicate"`
}

// StudyResult is what a finished study returns.
type StudyResult struct {
	StudyID int64                `json:"study_id"`
	Status  search.StudyState    `json:"status"`
	Trials  int                  `json:"trials"`
	Counts  map[search.State]int `json:"counts"`
	Best    *TrialResult         `json:"best,omitempty"`
	// InfraFailed is how many of the failed trials failed for
	// infrastructure reasons.
	InfraFailed int `json:"infra_failed,omitempty"`
	// PendingMetrics is how many metric rows had not landed in Postgres
	// when the study finished (after waiting for them); 0 normally.
	PendingMetrics int `json:"pending_metrics,omitempty"`
}

// StudyStatus answers the status query.
type StudyStatus struct {
	Name      string               `json:"name"`
	StudyID   int64                `json:"study_id"`
	State     search.StudyState    `json:"state"`
	Budget    int                  `json:"budget"`
	Suggested int                  `json:"suggested"`
	Running   []int                `json:"running"`
	Queued    int                  `json:"queued"`
	Counts    map[search.State]int `json:"counts"`
	Best      *TrialResult         `json:"best,omitempty"`
	Runs      int                  `json:"runs"`
	// InfraFailed is how many of the failed trials failed for
	// infrastructure reasons.
	InfraFailed int `json:"infra_failed,omitempty"`
}

// TrialAssignment is one trial to run: a configuration and a seed.
type TrialAssignment struct {
	TrialID    int64          `json:"trial_id"`
	Number     int            `json:"number"`
	Replicate  int            `json:"replicate"`
	Seed       uint64         `json:"seed"`
	ConfigHash string         `json:"config_hash"`
	Params     search.Config  `json:"params"`
	Config     trainer.Config `json:"config"`
}

// Activation returns the activation the trial trains with.
func (a TrialAssignment) Activation() string { return string(a.Config.Activation) }

// TrialInput starts a TrialWorkflow.
type TrialInput struct {
	Study       string               `json:"study"`
	StudyID     int64                `json:"study_id"`
	Metric      trainer.Metric       `json:"metric"`
	Direction   search.Direction     `json:"direction"`
	Schedule    search.SchedulerSpec `json:"schedule"`
	TrialsQueue string               `json:"trials_queue"`
	// HeartbeatTimeout overrides TrainHeartbeatTimeout when set.
	HeartbeatTimeout time.Duration   `json:"heartbeat_timeout,omitempty"`
	Assignment       TrialAssignment `json:"assignment"`
	// KeepModels is the spec's keep_models, passed on to TrainTrial.
	KeepModels int `json:"keep_models,omitempty"`
	// UntilEpoch and InitFrom are passed on to TrainTrial (see TrainInput).
	UntilEpoch int            `json:"until_epoch,omitempty"`
	InitFrom   *CheckpointRef `json:"init_from,omitempty"`
	// AttemptBase is how many tries earlier runs of the trial made (a pbt
	// trial runs once per generation): its attempts count on from there,
	// so that the writes they fence stay ordered.
	AttemptBase int `json:"attempt_base,omitempty"`
}

// TrialResult is a trial's recorded outcome.
type TrialResult struct {
	TrialID    int64        `json:"trial_id"`
	Number     int          `json:"number"`
	Activation string       `json:"activation"`
	ConfigHash string       `json:"config_hash"`
	Status     search.State `json:"status"`
	Objective  *float64     `json:"objective,omitempty"`
	// TestAccuracy is the accuracy on the test split after training.
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	EpochsDone   int      `json:"epochs_done"`
	Attempt      int      `json:"attempt"`
	Worker       string   `json:"worker,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// TrainInput is the TrainTrial activity's input.
type TrainInput struct {
	Study      string               `json:"study"`
	StudyID    int64                `json:"study_id"`
	TrialID    int64                `json:"trial_id"`
	Number     int                  `json:"number"`
	Metric     trainer.Metric       `json:"metric"`
	Schedule   search.SchedulerSpec `json:"schedule"`
	Config     trainer.Config       `json:"config"`
	ConfigHash string               `json:"config_hash"`
	// Attempt numbers this try of the trial; TrialWorkflow counts it up
	// across every try, so it orders the writes of one trial (metric rows
	// and the outcome are fenced by it). 0 means the server's attempt.
	Attempt int `json:"attempt,omitempty"`
	// Resume is the newest progress an earlier try reported (from its
	// last heartbeat or its error), a hint for where to resume; the
	// worker also looks for the trial's newest checkpoint on its disk.
	Resume *TrainProgress `json:"resume,omitempty"`
	// KeepModels and Direction: a complete trial keeps its final weights
	// while it is among the study's best KeepModels (0: none).
	KeepModels int              `json:"keep_models,omitempty"`
	Direction  search.Direction `json:"direction,omitempty"`
	// InitFrom, when set, is a checkpoint to start from: one this trial
	// saved (Trial == Number; it then counts as Resume), or another
	// trial's of the same study, whose weights, optimizer state and epoch
	// the trial continues from (its configuration must be compatible:
	// trainer checkpoints resume only the same model and optimizer). A
	// checkpoint of this trial newer than InitFrom wins (a retry resumes
	// its own progress). One that cannot be read fails the try as an
	// infrastructure failure, one of another configuration without retry.
	InitFrom *CheckpointRef `json:"init_from,omitempty"`
	// UntilEpoch, when > 0, trains up to and including that epoch, saves
	// a checkpoint and returns with Suspended set (when epochs remain);
	// resuming from Saved continues the run as if it had not stopped.
	UntilEpoch int `json:"until_epoch,omitempty"`
}

// CheckpointRef names a checkpoint a trial saved: the trial's number in
// its study, the epoch it holds, and where it is (the worker's reference:
// a path under its checkpoint directory, or an object-store reference).
// HostQueue is the task queue of the worker that wrote it, whose disk
// holds it under the directory backend.
type CheckpointRef struct {
	Trial     int    `json:"trial"`
	Epoch     int    `json:"epoch"`
	Ref       string `json:"ref"`
	HostQueue string `json:"host_queue,omitempty"`
}

// TrainOutput is the TrainTrial activity's result for a trial that trained
// to the end (or stopped early by its own rule).
type TrainOutput struct {
	EpochsDone   int      `json:"epochs_done"`
	Objective    *float64 `json:"objective"`
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	EarlyStopped bool     `json:"early_stopped,omitempty"`
	// Pruned is set when the study's scheduler stopped the trial at a rung.
	Pruned  bool   `json:"pruned,omitempty"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	// HostQueue is the task queue of the worker that holds the trial's
	// checkpoints (see HostQueue); empty from workers that predate it.
	HostQueue string `json:"host_queue,omitempty"`
	// Suspended is set when training stopped at TrainInput.UntilEpoch with
	// epochs left (EpochsDone = UntilEpoch, Objective its value).
	Suspended bool `json:"suspended,omitempty"`
	// Saved is the checkpoint of the last epoch done, to continue from
	// (InitFrom); nil when the worker keeps none, and a continuation then
	// trains from the first epoch (reproducing the same epochs).
	Saved *CheckpointRef `json:"saved,omitempty"`
	// SavedShared says that every worker can read Saved (the object
	// store), not only the one behind Saved.HostQueue.
	SavedShared bool `json:"saved_shared,omitempty"`
}

// InfraDetails travel with an Infrastructure application error: how far
// the try got and where its checkpoints are.
type InfraDetails struct {
	Progress  TrainProgress `json:"progress"`
	Worker    string        `json:"worker"`
	HostQueue string        `json:"host_queue,omitempty"`
}

// RemoveCheckpointsInput names the trial whose checkpoints a worker
// deletes once the trial's outcome is recorded.
type RemoveCheckpointsInput struct {
	Study  string `json:"study"`
	Number int    `json:"number"`
}

// AwaitMetricsInput asks the controller to wait until a study's metric
// rows have landed.
type AwaitMetricsInput struct {
	StudyID int64         `json:"study_id"`
	MaxWait time.Duration `json:"max_wait"`
}

// AwaitMetricsOutput is what was still missing when AwaitMetrics returned:
// zero unless it ran out of time.
type AwaitMetricsOutput struct {
	Rows   int `json:"rows"`   // metric rows not yet in trial_metrics
	Trials int `json:"trials"` // trials missing at least one
}

// DivergedDetails travel with a Diverged application error.
type DivergedDetails struct {
	Epoch   int    `json:"epoch"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
}

// SuggestInput asks for new trials.
type SuggestInput struct {
	StudyID     int64     `json:"study_id"`
	Spec        spec.Spec `json:"spec"`
	FirstNumber int       `json:"first_number"`
	Configs     int       `json:"configs"`    // configurations wanted
	MaxTrials   int       `json:"max_trials"` // cap on trials returned (replicates included)
	// Lag hides the results of the Lag trials numbered just below
	// FirstNumber from the sampler (they count as pending), so what it sees
	// does not depend on which of them happened to finish first.
	Lag int `json:"lag,omitempty"`
	// Given, when set, are stored as the trials from FirstNumber instead of
	// asking the sampler (Configs and Lag then do not apply).
	Given []GivenTrial `json:"given,omitempty"`
}

// SuggestOutput is the stored trials; empty when the space is exhausted.
type SuggestOutput struct {
	Trials    []TrialAssignment `json:"trials"`
	Exhausted bool              `json:"exhausted"`
}

// CreateStudyInput registers a study row.
type CreateStudyInput struct {
	Spec spec.Spec `json:"spec"`
}

// RecordInput stores a trial's final outcome.
type RecordInput struct {
	Study  string      `json:"study"`
	Result TrialResult `json:"result"`
}

// FinishStudyInput stores a study's final status.
type FinishStudyInput struct {
	StudyID int64             `json:"study_id"`
	Status  search.StudyState `json:"status"`
}

// RungReport is the report update's argument.
type RungReport struct {
	Trial int     `json:"trial"`
	Epoch int     `json:"epoch"`
	Value float64 `json:"value"`
}

// RungDecision is the report update's result.
type RungDecision struct {
	Continue bool `json:"continue"`
}

// DecideInput asks whether a trial that reached a decision epoch goes on.
type DecideInput struct {
	StudyID   int64                `json:"study_id"`
	Trial     int                  `json:"trial"`
	Epoch     int                  `json:"epoch"`
	Value     float64              `json:"value"`
	Direction search.Direction     `json:"direction"`
	Schedule  search.SchedulerSpec `json:"schedule"`
	// Ordered decides from the values of the trials numbered below Trial
	// only (the study waits until all of them that reach Epoch have
	// reported; see rungs.go).
	Ordered bool `json:"ordered,omitempty"`
}

// CreateStudyOutput identifies the stored study.
type CreateStudyOutput struct {
	StudyID int64 `json:"study_id"`
	Created bool  `json:"created"`
}

// TrainProgress is the heartbeat detail of a running trial: the last
// completed epoch and where its checkpoint is.
type TrainProgress struct {
	Epoch      int    `json:"epoch"`
	Checkpoint string `json:"checkpoint,omitempty"`
}
