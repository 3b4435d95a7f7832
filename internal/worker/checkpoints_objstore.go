package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/workflows"
)

// checkpointOpTimeout bounds one object-store call of a running trial: a
// checkpoint that cannot be stored within it is skipped (the trial goes on
// without it), so a NATS outage slows a trial by at most this per epoch.
const checkpointOpTimeout = 5 * time.Second

// CheckpointStore is the object store objectKeeper keeps checkpoints in
// (a *ckptstore.Store).
type CheckpointStore interface {
	Bucket() string
	Put(ctx context.Context, k ckptstore.Key, data []byte) (string, error)
	Get(ctx context.Context, k ckptstore.Key) ([]byte, error)
	Delete(ctx context.Context, k ckptstore.Key) error
	Checkpoints(ctx context.Context, study string, trial int) ([]ckptstore.Key, error)
	DeleteTrial(ctx context.Context, study string, trial int) (int, error)
	PutModel(ctx context.Context, m ckptstore.Model, data []byte) error
	KeepBestModels(ctx context.Context, study string, k int, maximize bool) (int, error)
}

// objectKeeper keeps one try's checkpoints in the object store, keyed by
// study, trial, attempt and epoch, so that a retry on any host finds them.
// Store faults never fail the trial: a checkpoint that cannot be written
// is skipped, one that cannot be read or is damaged is passed over, each
// with a log line.
type objectKeeper struct {
	// ctx is the try's context: the trainer's checkpoint callback, through
	// which write is called, carries none.
	ctx     context.Context
	store   CheckpointStore
	study   string
	trial   int
	attempt int
	log     *slog.Logger

	newest ckptstore.Key // zero when none
	data   []byte        // the newest checkpoint's bytes (written or resumed)
}

func newObjectKeeper(ctx context.Context, store CheckpointStore, in workflows.TrainInput, attempt int, log *slog.Logger) *objectKeeper {
	return &objectKeeper{ctx: ctx, store: store, study: in.Study, trial: in.Number, attempt: attempt, log: log}
}

func (k *objectKeeper) enabled() bool { return true }
func (k *objectKeeper) create() error { return nil }

// open reads the newest checkpoint of the trial that is readable: the
// hinted one and those the bucket lists, highest epoch first. A first try
// without a hint has nothing to resume and lists nothing.
func (k *objectKeeper) open(ctx context.Context, hint string, log *slog.Logger) (io.Reader, func(), workflows.TrainProgress) {
	var cands []ckptstore.Key
	if hint != "" {
		bucket, key, ok := ckptstore.ParseRef(hint)
		switch {
		case !ok || key.Study != k.study || key.Trial != k.trial:
			log.Warn("ignoring a heartbeat checkpoint that is not one of this trial's objects", "checkpoint", hint)
		case bucket != k.store.Bucket():
			log.Warn("ignoring a heartbeat checkpoint in another bucket", "checkpoint", hint, "bucket", k.store.Bucket())
		default:
			cands = append(cands, key)
		}
	}
	if hint != "" || k.attempt > 1 {
		lctx, cancel := context.WithTimeout(ctx, checkpointOpTimeout)
		listed, err := k.store.Checkpoints(lctx, k.study, k.trial)
		cancel()
		if err != nil {
			log.Warn("cannot list the trial's checkpoints; resuming from the heartbeat's, if any", "err", err)
		}
		cands = append(cands, listed...)
	}
	tried := map[ckptstore.Key]bool{}
	for len(cands) > 0 {
		best := 0
		for i, c := range cands {
			if c.Epoch > cands[best].Epoch || (c.Epoch == cands[best].Epoch && c.Attempt > cands[best].Attempt) {
				best = i
			}
		}
		key := cands[best]
		cands = append(cands[:best], cands[best+1:]...)
		if tried[key] {
			continue
		}
		tried[key] = true
		gctx, cancel := context.WithTimeout(ctx, checkpointOpTimeout)
		data, err := k.store.Get(gctx, key)
		cancel()
		switch {
		case err == nil:
			k.newest, k.data = key, data
			return bytes.NewReader(data), func() {}, workflows.TrainProgress{Epoch: key.Epoch, Checkpoint: ckptstore.Ref(k.store.Bucket(), key)}
		case errors.Is(err, ckptstore.ErrCorrupt), errors.Is(err, ckptstore.ErrTooLarge):
			log.Warn("ignoring an unusable checkpoint", "checkpoint", key.Name(), "err", err)
		case errors.Is(err, ckptstore.ErrNotFound):
			log.Debug("checkpoint gone", "checkpoint", key.Name())
		default:
			log.Warn("cannot read a checkpoint; trying an older one", "checkpoint", key.Name(), "err", err)
		}
	}
	return nil, func() {}, workflows.TrainProgress{}
}

// openFrom implements trialCheckpoints: ref must be an object of trial
// ref.Trial of the same study in this worker's bucket.
func (k *objectKeeper) openFrom(ctx context.Context, ref workflows.CheckpointRef) (io.Reader, func(), error) {
	bucket, key, ok := ckptstore.ParseRef(ref.Ref)
	if !ok || key.Study != k.study || key.Trial != ref.Trial || bucket != k.store.Bucket() {
		return nil, nil, fmt.Errorf("%w: init_from: %q is not a checkpoint of trial %d of study %s in bucket %s",
			errInvalidTrainInput, ref.Ref, ref.Trial, k.study, k.store.Bucket())
	}
	gctx, cancel := context.WithTimeout(ctx, checkpointOpTimeout)
	data, err := k.store.Get(gctx, key)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s of trial %d: %w", key.Name(), ref.Trial, err)
	}
	return bytes.NewReader(data), func() {}, nil
}

// write stores the checkpoint under this try's key. A store that fails is
// logged and skipped: the heartbeat keeps naming the last one stored.
func (k *objectKeeper) write(epoch int, write func(io.Writer) error) (string, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return "", err
	}
	k.data = buf.Bytes()
	key := ckptstore.Key{Study: k.study, Trial: k.trial, Attempt: k.attempt, Epoch: epoch}
	ctx, cancel := context.WithTimeout(k.ctx, checkpointOpTimeout)
	defer cancel()
	ref, err := k.store.Put(ctx, key, k.data)
	if err != nil {
		if k.ctx.Err() != nil {
			return "", k.ctx.Err()
		}
		k.log.Warn("checkpoint not stored; the trial goes on without it", "epoch", epoch, "err", err)
		return "", nil
	}
	return ref, nil
}

// replace makes ref the newest and removes the previous one; one left
// behind goes with the rest when the trial ends (DeleteTrial).
func (k *objectKeeper) replace(ref string) {
	_, key, ok := ckptstore.ParseRef(ref)
	if !ok {
		return
	}
	old := k.newest
	k.newest = key
	if old != (ckptstore.Key{}) && old != key {
		k.delete(old)
	}
}

// drop removes the newest checkpoint: the trial trains from the start.
func (k *objectKeeper) drop() {
	if k.newest != (ckptstore.Key{}) {
		k.delete(k.newest)
	}
	k.newest, k.data = ckptstore.Key{}, nil
}

func (k *objectKeeper) delete(key ckptstore.Key) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.ctx), checkpointOpTimeout)
	defer cancel()
	if err := k.store.Delete(ctx, key); err != nil {
		k.log.Debug("old checkpoint not removed; it goes when the trial ends", "checkpoint", key.Name(), "err", err)
	}
}

// keepModel stores the final weights of a complete trial when its study
// keeps the best in.KeepModels, and removes the models that are no longer
// among them. Failures are logged: the trial's outcome does not depend on
// them.
func (k *objectKeeper) keepModel(in workflows.TrainInput, objective float64) {
	if in.KeepModels <= 0 || k.data == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.ctx), 4*checkpointOpTimeout)
	defer cancel()
	m := ckptstore.Model{Study: in.Study, Trial: in.Number, Objective: objective}
	if err := k.store.PutModel(ctx, m, k.data); err != nil {
		k.log.Warn("final weights not kept", "err", err)
		return
	}
	removed, err := k.store.KeepBestModels(ctx, in.Study, in.KeepModels, in.Direction != search.Minimize)
	if err != nil {
		k.log.Warn("kept models not pruned to the best", "keep_models", in.KeepModels, "err", err)
		return
	}
	k.log.Debug("final weights kept", "objective", objective, "removed", removed)
}
