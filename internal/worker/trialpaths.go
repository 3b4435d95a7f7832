package worker

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/relutune/relutune/workflows"
)

// errInvalidTrainInput is wrapped by the errors of checkTrainInput and
// trialCheckpointDir; TrainTrial fails such input without retry.
var errInvalidTrainInput = errors.New("invalid trial input")

// studyNameRE is the spec's rule for study names. TrainTrial checks it
// again because the name becomes a directory under the checkpoint root and
// a NATS subject token, and its input may come from anything that can
// start a workflow.
var studyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// checkTrainInput rejects a study name or trial number that cannot name a
// trial's directory and subjects.
func checkTrainInput(in workflows.TrainInput) error {
	if !studyNameRE.MatchString(in.Study) {
		return fmt.Errorf("%w: study: %q must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and '-')", errInvalidTrainInput, in.Study)
	}
	if in.Number < 0 {
		return fmt.Errorf("%w: number: %d must be >= 0", errInvalidTrainInput, in.Number)
	}
	return nil
}

// trialCheckpointDir is <root>/<study>/<number>, checked to lie strictly
// inside root once cleaned.
func trialCheckpointDir(root, study string, number int) (string, error) {
	if err := checkTrainInput(workflows.TrainInput{Study: study, Number: number}); err != nil {
		return "", err
	}
	dir := filepath.Join(root, study, strconv.Itoa(number))
	if !within(root, dir) {
		return "", fmt.Errorf("%w: checkpoint directory %q (study %q, trial %d) is outside the checkpoint root %q",
			errInvalidTrainInput, dir, study, number, root)
	}
	return dir, nil
}

// within reports whether path, cleaned, lies strictly inside root.
func within(root, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(path))
	if err != nil || rel == "." || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// hintedCheckpoint returns the checkpoint a heartbeat names when it is a
// checkpoint file directly inside the trial's directory, and "" otherwise:
// heartbeat details are data from the previous attempt, perhaps written by
// a worker with another checkpoint root, and must never make this worker
// open (or, if damaged, remove) a file elsewhere.
func hintedCheckpoint(hinted, dir string) (string, bool) {
	if hinted == "" || dir == "" {
		return "", hinted == ""
	}
	p := filepath.Clean(hinted)
	if filepath.Dir(p) != filepath.Clean(dir) || !within(dir, p) {
		return "", false
	}
	var e int
	if _, err := fmt.Sscanf(filepath.Base(p), "epoch-%d.ckpt", &e); err != nil || e < 1 || filepath.Base(p) != fmt.Sprintf("epoch-%04d.ckpt", e) {
		return "", false
	}
	return p, true
}

// hostQueueOf is the host queue of worker (workflows.HostQueue) for an
// activity that ran on taskQueue: the shared trials queue, or that host
// queue itself.
func hostQueueOf(taskQueue, worker string) string {
	if strings.HasSuffix(taskQueue, workflows.HostQueue("", worker)) {
		return taskQueue
	}
	return workflows.HostQueue(taskQueue, worker)
}
