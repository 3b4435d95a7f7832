package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/relutune/relutune/workflows"
)

// trialCheckpoints is where one trial's checkpoints live: a directory on
// this host (checkpointKeeper) or objects in a JetStream bucket that every
// host reaches (objectKeeper). It is used by one goroutine at a time.
type trialCheckpoints interface {
	// enabled reports whether the trial keeps checkpoints at all.
	enabled() bool
	// create prepares the place before the first write.
	create() error
	// open returns the newest checkpoint of the trial it can read, from
	// the heartbeat's hint or its own listing, and the progress it holds;
	// r is nil when there is nothing to resume from. Whatever it skips it
	// logs. close releases r.
	open(ctx context.Context, hint string, log *slog.Logger) (r io.Reader, close func(), p workflows.TrainProgress)
	// write stores epoch's checkpoint and returns the reference the
	// heartbeat carries; "" with a nil error when it could not be stored
	// and the trial goes on without it.
	write(epoch int, write func(io.Writer) error) (string, error)
	// replace makes ref the newest and removes the one before it.
	replace(ref string)
	// drop removes the newest checkpoint (one that cannot be resumed from).
	drop()
	// openFrom opens ref, a checkpoint another trial of the study saved,
	// to start from; it never becomes this trial's (replace and drop leave
	// it). The error wraps errInvalidTrainInput when ref does not name a
	// checkpoint of trial ref.Trial of this study in this worker's store.
	openFrom(ctx context.Context, ref workflows.CheckpointRef) (r io.Reader, close func(), err error)
}

// checkpointKeeper owns one trial's checkpoints on this worker: their
// directory, the newest one (written by this attempt or resumed from),
// writing the next and pruning the one it replaces, and finding the one to
// resume from. A keeper without a directory keeps nothing. It is used by
// one goroutine at a time: the attempt's before and between trainings,
// the trainer's checkpoint callback during one.
type checkpointKeeper struct {
	dir    string // <root>/<study>/<number>; "" when checkpoints are off
	newest string // the newest checkpoint this attempt knows of
}

// newCheckpointKeeper returns the keeper of trial number of study under
// root ("" disables checkpoints). Its error wraps errInvalidTrainInput:
// the study or number would put the directory outside root.
func newCheckpointKeeper(root, study string, number int) (*checkpointKeeper, error) {
	if root == "" {
		return &checkpointKeeper{}, nil
	}
	dir, err := trialCheckpointDir(root, study, number)
	if err != nil {
		return nil, err
	}
	return &checkpointKeeper{dir: dir}, nil
}

// enabled reports whether the trial keeps checkpoints.
func (k *checkpointKeeper) enabled() bool { return k.dir != "" }

// create makes the trial's directory.
func (k *checkpointKeeper) create() error {
	if k.dir == "" {
		return nil
	}
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	return nil
}

// open implements trialCheckpoints over resume.
func (k *checkpointKeeper) open(_ context.Context, hint string, log *slog.Logger) (io.Reader, func(), workflows.TrainProgress) {
	f, p, hintOK := k.resume(hint)
	if !hintOK {
		log.Warn("ignoring a heartbeat checkpoint outside this trial's checkpoint directory",
			"checkpoint", hint, "dir", k.dir)
	}
	if f == nil {
		return nil, func() {}, p
	}
	return f, func() { f.Close() }, p
}

// resume opens the newest checkpoint of the trial that can be opened,
// from the heartbeat's hint or from the trial's directory: heartbeat
// details are throttled, so the server may hold an older checkpoint than
// the last one written. hintOK is false when the hint lies outside the
// trial's directory (another worker's root, or worse); it is then never
// opened. f is nil when there is nothing to resume from.
func (k *checkpointKeeper) resume(hint string) (f *os.File, p workflows.TrainProgress, hintOK bool) {
	hinted, hintOK := hintedCheckpoint(hint, k.dir)
	f, path, epoch := openNewestCheckpoint(hinted, k.dir)
	if f == nil {
		k.newest = ""
		return nil, workflows.TrainProgress{}, hintOK
	}
	k.newest = path
	return f, workflows.TrainProgress{Epoch: epoch, Checkpoint: path}, hintOK
}

// write writes epoch's checkpoint atomically (temp file, fsync, rename),
// makes it the newest, and returns its path. The one it replaces stays
// until prune, so that the heartbeat can name the new one first.
func (k *checkpointKeeper) write(epoch int, write func(io.Writer) error) (string, error) {
	path := filepath.Join(k.dir, fmt.Sprintf("epoch-%04d.ckpt", epoch))
	f, err := os.CreateTemp(k.dir, ".ckpt-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return "", fmt.Errorf("checkpoint epoch %d: %w", epoch, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// replace makes path the newest checkpoint and removes the one before it.
func (k *checkpointKeeper) replace(path string) {
	old := k.newest
	k.newest = path
	if old != "" && old != path {
		_ = os.Remove(old)
	}
}

// drop removes the newest checkpoint (one that cannot be resumed from):
// the trial trains from the start.
func (k *checkpointKeeper) drop() {
	if k.newest != "" {
		_ = os.Remove(k.newest)
	}
	k.newest = ""
}

// openFrom implements trialCheckpoints: ref must be a checkpoint file
// directly inside trial ref.Trial's directory of the same study.
func (k *checkpointKeeper) openFrom(_ context.Context, ref workflows.CheckpointRef) (io.Reader, func(), error) {
	if k.dir == "" {
		return nil, nil, fmt.Errorf("checkpoint %s of trial %d: this worker keeps no checkpoints", ref.Ref, ref.Trial)
	}
	dir := filepath.Join(filepath.Dir(k.dir), strconv.Itoa(ref.Trial))
	path, ok := hintedCheckpoint(ref.Ref, dir)
	if !ok || path == "" || ref.Trial < 0 {
		return nil, nil, fmt.Errorf("%w: init_from: %q is not a checkpoint file of trial %d (in %s)", errInvalidTrainInput, ref.Ref, ref.Trial, dir)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint of trial %d: %w", ref.Trial, err)
	}
	return f, func() { f.Close() }, nil
}

// openNewestCheckpoint opens the checkpoint with the highest epoch among
// hinted (from heartbeat details) and the epoch-NNNN.ckpt files in dir.
func openNewestCheckpoint(hinted, dir string) (*os.File, string, int) {
	type cand struct {
		path  string
		epoch int
	}
	var cands []cand
	add := func(path string) {
		var e int
		if _, err := fmt.Sscanf(filepath.Base(path), "epoch-%d.ckpt", &e); err == nil {
			cands = append(cands, cand{path, e})
		}
	}
	if hinted != "" {
		add(hinted)
	}
	if dir != "" {
		matches, _ := filepath.Glob(filepath.Join(dir, "epoch-*.ckpt"))
		for _, m := range matches {
			add(m)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].epoch > cands[j].epoch })
	for _, c := range cands {
		if f, err := os.Open(c.path); err == nil {
			return f, c.path, c.epoch
		}
	}
	return nil, "", 0
}
