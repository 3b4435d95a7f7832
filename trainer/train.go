package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/relutune/relutune/kernels"
)

// ErrDiverged is wrapped (as a *DivergedError) by the error Train returns
// when a training or validation loss is NaN or infinite.
var ErrDiverged = errors.New("trainer: diverged")

// DivergedError reports the epoch (1-based) and the loss at which training diverged.
type DivergedError struct {
	Epoch int
	Loss  float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("trainer: diverged in epoch %d: loss %v", e.Epoch, e.Loss)
}

// Unwrap makes errors.Is(err, ErrDiverged) true.
func (e *DivergedError) Unwrap() error { return ErrDiverged }

// LayerStats are the diagnostics of one hidden layer, measured at the end of
// an epoch on a fixed probe batch: the first 1024 validation examples (all of
// them when there are fewer).
type LayerStats struct {
	// DeadFraction is the fraction of units whose output is exactly 0 for every
	// probe example (for a convolution, a unit is a channel, dead when it is 0
	// at every position).
	DeadFraction float64 `json:"dead_fraction"`
	// Saturation is the fraction of outputs in the flat tails: sigmoid outputs
	// below 0.01 or above 0.99, tanh outputs beyond ±0.99; 0 for other activations.
	Saturation float64 `json:"saturation"`
	// ActMean and ActStd are the mean and standard deviation of all outputs.
	ActMean float64 `json:"act_mean"`
	ActStd  float64 `json:"act_std"`
	// GradNorm is the L2 norm of the gradient of the mean probe loss with
	// respect to the layer's weights and biases.
	GradNorm float64 `json:"grad_norm"`
	// PReLUSlope is the layer's learned slope (prelu only).
	PReLUSlope *float64 `json:"prelu_slope,omitempty"`
	// SwishBeta is the layer's learned beta (swish with a learnable beta
	// only). The cluster's metric messages do not carry it; tunectl train
	// prints it.
	SwishBeta *float64 `json:"swish_beta,omitempty"`
}

// EpochMetrics are what Train reports after each epoch.
type EpochMetrics struct {
	// Epoch is 1-based.
	Epoch int `json:"epoch"`
	// TrainLoss is the mean cross-entropy over the epoch's training batches.
	TrainLoss float64 `json:"train_loss"`
	// ValLoss and ValAccuracy are measured on the whole validation split.
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
	// SamplesPerSec is the training throughput of the epoch (evaluation excluded).
	SamplesPerSec float64 `json:"train_samples_per_sec"`
	// LR is the learning rate of the epoch's last step.
	LR float64 `json:"lr"`
	// Layers has one entry per hidden layer, input side first.
	Layers []LayerStats `json:"layers"`
}

// Result summarises a finished training run.
type Result struct {
	// Epochs is the number of epochs completed.
	Epochs int `json:"epochs"`
	// Final is the last epoch's metrics.
	Final EpochMetrics `json:"final"`
	// BestValLoss and BestValAccuracy are the best values over all epochs
	// (0 when no epoch completed).
	BestValLoss     float64 `json:"best_val_loss"`
	BestValAccuracy float64 `json:"best_val_accuracy"`
	// TestAccuracy is measured on the test split with the final weights.
	TestAccuracy float64 `json:"test_accuracy"`
	// EarlyStopped is true when patience ran out before the last epoch.
	EarlyStopped bool `json:"early_stopped"`
	// Suspended is true when training stopped at Options.StopAfter with
	// epochs left: the last checkpoint continues it (TestAccuracy is then
	// not measured).
	Suspended bool `json:"suspended,omitempty"`
}

// Options are the hooks of a Train call.
type Options struct {
	// Report is called after every epoch; a non-nil error stops training and
	// Train returns it (wrapped).
	Report func(ctx context.Context, m EpochMetrics) error
	// Checkpoint, when set, is called at each epoch end (after Report) with a
	// function that writes the full training state (weights, optimizer state,
	// RNG state, epoch) to w. write is valid only during the call.
	Checkpoint func(epoch int, write func(w io.Writer) error) error
	// Resume, when non-nil, is a checkpoint to continue from; training
	// continues at the next epoch and reproduces the uninterrupted run
	// bit-for-bit (on the same machine, kernel path and thread count).
	Resume io.Reader
	// Progress, when set, is called after every training batch with the
	// epoch and the batch's number in it (from 1), so a caller can tell a
	// long epoch that advances from one that is stuck. It must be cheap.
	Progress func(epoch, batch int)
	// MaxMemory bounds the memory one Train call may allocate, as
	// EstimateMemory counts it (Memory.Trial, the data set excluded): a
	// configuration over it is refused with an error wrapping
	// ErrInvalidConfig before anything is allocated. 0 means
	// DefaultMaxMemory; a negative value means no limit.
	MaxMemory int64
	// StopAfter, when > 0, suspends training once that many epochs are
	// complete (after the epoch's Report and Checkpoint), if epochs remain:
	// Train returns a Result with Suspended set. Resuming from the last
	// checkpoint continues the run exactly as if it had not stopped. A run
	// resumed at or past StopAfter returns at once.
	StopAfter int
}

// probeSize is the number of validation examples the diagnostics use.
const probeSize = 1024

// workspaceFloats bounds the floats of activation buffers a network
// allocates for evaluation chunks (the training batch is always allowed).
const workspaceFloats = 8 << 20

// RNG streams derived from Config.Seed.
const (
	streamInit    = 1
	streamShuffle = 2
)

// state is everything that evolves during training and is checkpointed.
type state struct {
	cfg       Config
	net       *network
	opt       *optimizer
	pcg       *rand.PCG // data order
	rng       *rand.Rand
	epoch     int // epochs completed
	bestLoss  float64
	bestAcc   float64
	sinceBest int
	stopped   bool
	last      EpochMetrics

	// With more than one thread, a step splits its batch over shards, the
	// first of them net itself (its matrix products on one thread); see step.
	shards   []*network
	pool     *pool
	job      shardJob
	shardFn  func(int)  // st.runShard, made once so that a step allocates nothing
	reduceFn func(int)  // st.reduceGrads
	applyFn  func(int)  // st.applyUpdate
	finishFn func(int)  // st.reduceAndApply
	bnNets   []*network // scratch of the single-threaded step's running statistics
}

// shardJob is the batch a parallel step is working on.
type shardJob struct {
	split  *Split
	idx    []int32
	per    int // rows per shard (the last may have fewer)
	parts  int // shards with rows
	scale  float32
	lr     float32
	losses []float64
}

// minShardRows is the smallest shard of a batch worth its own thread.
const minShardRows = 16

// shardsFor is the number of shards a step of cfg splits its batch into:
// one per thread, while every shard keeps at least minShardRows rows.
func shardsFor(cfg Config) int {
	return max(1, min(max(cfg.Threads, 1), cfg.BatchSize/minShardRows))
}

// shardRows is the most rows one shard of a batch of cfg holds.
func shardRows(cfg Config) int {
	t := shardsFor(cfg)
	return (cfg.BatchSize + t - 1) / t
}

// Train trains the configured network on ds. cfg is completed with
// WithDefaults and validated; an invalid cfg returns an error wrapping
// ErrInvalidConfig. Training is deterministic from cfg.Seed. Cancelling ctx
// stops training between batches and Train returns ctx.Err(); a NaN or
// infinite loss returns a *DivergedError. Both come with the Result of the
// epochs completed so far.
func Train(ctx context.Context, cfg Config, ds *Dataset, opts Options) (Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if ds == nil {
		return Result{}, fmt.Errorf("%w: dataset: nil", ErrInvalidConfig)
	}
	ds = normalized(ds, cfg.Normalize)
	if ds.Name != cfg.Dataset {
		return Result{}, fmt.Errorf("%w: dataset: config names %q but the data set given is %q", ErrInvalidConfig, cfg.Dataset, ds.Name)
	}
	if ds.Train.Len() == 0 || ds.Val.Len() == 0 {
		return Result{}, fmt.Errorf("%w: %s: empty training or validation split", ErrDataset, ds.Name)
	}
	limit := opts.MaxMemory
	if limit == 0 {
		limit = DefaultMaxMemory
	}
	if err := CheckMemory(cfg, ds.Shape(), limit); err != nil {
		return Result{}, err
	}
	st, err := newState(cfg, ds)
	if err != nil {
		return Result{}, err
	}
	defer st.close()
	if opts.Resume != nil {
		if err := st.restore(opts.Resume); err != nil {
			return Result{}, err
		}
	}
	return st.run(ctx, ds, opts)
}

func newState(cfg Config, ds *Dataset) (*state, error) {
	net, err := newNetwork(cfg, ds, workspaceRows(cfg, ds.Shape()), rand.New(rand.NewPCG(cfg.Seed, streamInit)))
	if err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(cfg.Seed, streamShuffle)
	st := &state{
		cfg: cfg, net: net,
		opt:      newOptimizer(cfg, len(net.params), net.segs),
		pcg:      pcg,
		rng:      rand.New(pcg),
		bestLoss: math.Inf(1),
		bnNets:   make([]*network, 1),
	}
	if t := shardsFor(cfg); t > 1 {
		first := *net // net's buffers, single-threaded products
		first.threads = 1
		st.shards = append(st.shards, &first)
		for range t - 1 {
			st.shards = append(st.shards, net.shard(shardRows(cfg)))
		}
		st.pool = newPool(t)
		st.job.losses = make([]float64, t)
		st.shardFn, st.reduceFn, st.applyFn, st.finishFn = st.runShard, st.reduceGrads, st.applyUpdate, st.reduceAndApply
	}
	return st, nil
}

// close stops the step's worker goroutines.
func (st *state) close() {
	if st.pool != nil {
		st.pool.close()
		st.pool = nil
	}
}

// workspaceRows is the number of rows the network's buffers hold: the batch
// size, or more for evaluation chunks when memory allows.
func workspaceRows(cfg Config, ds Shape) int {
	per := ds.Features
	if cfg.Model == CNN {
		h, w, ch := ds.Height, ds.Width, ds.Channels
		for _, c := range cfg.Conv {
			per += h*w*9*ch + 3*h*w*c + (h/2)*(w/2)*c*3
			h, w, ch = h/2, w/2, c
		}
	}
	// A dense layer's output, its activation's and their gradients; batch
	// norm and dropout add an output each (their gradients are shared).
	extra := 0
	if cfg.BatchNorm != "" && cfg.BatchNorm != BatchNormNone {
		extra++
	}
	if cfg.Dropout > 0 {
		extra++
	}
	for _, width := range cfg.Hidden {
		per += (3 + extra) * width
	}
	per += 2 * ds.Classes
	rows := min(probeSize, max(1, workspaceFloats/per))
	return max(rows, cfg.BatchSize)
}

func (st *state) run(ctx context.Context, ds *Dataset, opts Options) (Result, error) {
	cfg, net := st.cfg, st.net
	ntrain := ds.Train.Len()
	perm := make([]int32, ntrain)
	stepsPerEpoch := (ntrain + cfg.BatchSize - 1) / cfg.BatchSize
	pr := newProber(net, ds)
	result := func() Result {
		r := Result{Epochs: st.epoch, Final: st.last, BestValLoss: st.bestLoss, BestValAccuracy: st.bestAcc, EarlyStopped: st.stopped}
		if st.epoch == 0 {
			r.BestValLoss = 0 // no epoch yet; keep the Result JSON-encodable
		}
		return r
	}
	for !st.stopped && st.epoch < cfg.Epochs {
		if opts.StopAfter > 0 && st.epoch >= opts.StopAfter {
			r := result()
			r.Suspended = true
			return r, nil
		}
		epoch := st.epoch + 1
		for i := range perm {
			perm[i] = int32(i)
		}
		for i := ntrain - 1; i > 0; i-- {
			j := st.rng.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		start := time.Now()
		var sum float64
		var lr float64
		for b := 0; b < stepsPerEpoch; b++ {
			if err := ctx.Err(); err != nil {
				return result(), err
			}
			idx := perm[b*cfg.BatchSize : min((b+1)*cfg.BatchSize, ntrain)]
			lr = learningRate(cfg, st.opt.stepCount(), stepsPerEpoch)
			loss := st.step(&ds.Train, idx, float32(lr))
			if !finite(loss) {
				return result(), &DivergedError{Epoch: epoch, Loss: loss / float64(len(idx))}
			}
			sum += loss
			if opts.Progress != nil {
				opts.Progress(epoch, b+1)
			}
		}
		elapsed := time.Since(start).Seconds()
		valLoss, valAcc := evaluate(net, &ds.Val)
		if !finite(valLoss) {
			return result(), &DivergedError{Epoch: epoch, Loss: valLoss}
		}
		m := EpochMetrics{
			Epoch:         epoch,
			TrainLoss:     sum / float64(ntrain),
			ValLoss:       valLoss,
			ValAccuracy:   valAcc,
			SamplesPerSec: float64(ntrain) / max(elapsed, 1e-9),
			LR:            lr,
			Layers:        pr.stats(&ds.Val),
		}
		st.epoch = epoch
		st.last = m
		if valLoss < st.bestLoss {
			st.bestLoss, st.sinceBest = valLoss, 0
		} else {
			st.sinceBest++
		}
		st.bestAcc = max(st.bestAcc, valAcc)
		if cfg.Patience > 0 && st.sinceBest >= cfg.Patience && epoch < cfg.Epochs {
			st.stopped = true
		}
		if opts.Report != nil {
			if err := opts.Report(ctx, m); err != nil {
				return result(), fmt.Errorf("trainer: report of epoch %d: %w", epoch, err)
			}
		}
		if opts.Checkpoint != nil {
			if err := opts.Checkpoint(epoch, st.write); err != nil {
				return result(), fmt.Errorf("trainer: checkpoint of epoch %d: %w", epoch, err)
			}
		}
	}
	r := result()
	_, r.TestAccuracy = evaluate(net, &ds.Test)
	return r, nil
}

func (o *optimizer) stepCount() int { return int(o.step) }

// step trains on one batch and returns its summed loss. It allocates nothing.
//
// With shards, each shard runs forward and backward on a contiguous part of
// the batch into its own gradient (the loss scaled by the whole batch's
// size), and the shards' gradients are then summed into net.grads, each
// thread summing one range of the vector. The split and the order of the
// sums depend only on the batch size and the thread count, so a run is
// reproducible for a given thread count.
func (st *state) step(split *Split, idx []int32, lr float32) float64 {
	net := st.net
	if st.shards == nil {
		net.step, net.rowOff = uint64(st.opt.step), 0
		loss := net.trainBatch(split, idx, 1/float32(len(idx)))
		if !finite(loss) {
			return loss
		}
		if net.bns != nil {
			st.bnNets[0] = net
			updateRunning(net.running, st.bnNets[:1], net.bns)
		}
		st.clip()
		st.opt.update(net.params, net.grads, lr)
		return loss
	}
	loss := st.parallelBatch(split, idx)
	if !finite(loss) {
		return loss
	}
	if net.bns != nil {
		updateRunning(net.running, st.shards[:st.job.parts], net.bns)
	}
	st.opt.step++
	st.job.lr = lr
	if st.cfg.ClipNorm > 0 { // the norm needs the whole sum first
		st.pool.run(st.pool.size, st.reduceFn)
		st.clip()
		st.pool.run(st.pool.size, st.applyFn)
	} else {
		st.pool.run(st.pool.size, st.finishFn)
	}
	return loss
}

// clip scales the gradient to the configured global L2 norm when above it.
func (st *state) clip() {
	g := st.net.grads
	if c := st.cfg.ClipNorm; c > 0 {
		if norm := math.Sqrt(kernels.SumSquares(g)); norm > c {
			kernels.Scale(float32(c/norm), g)
		}
	}
}

// trainBatch runs the batch idx of split forward and backward, leaving the
// gradient of scale times the summed loss in n.grads, and returns the summed
// loss; a loss that is not finite skips the backward pass.
func (n *network) trainBatch(split *Split, idx []int32, scale float32) float64 {
	rows := len(idx)
	n.training = true
	fast := n.bi != nil && split.bytes != nil
	if fast {
		n.bi.forward(n, split, idx)
	} else {
		split.gather(n.x, n.labels, idx, n.inDim)
		n.forward(rows)
	}
	loss := n.loss(rows, scale)
	if !finite(loss) {
		return loss
	}
	if fast {
		n.bi.backward(n, split, rows)
	} else {
		n.backward(rows)
	}
	return loss
}

// parallelBatch is trainBatch over st.shards; the shards' gradients are
// left for reduceGrads.
func (st *state) parallelBatch(split *Split, idx []int32) float64 {
	rows := len(idx)
	t := len(st.shards)
	per := (rows + t - 1) / t
	j := &st.job
	j.split, j.idx, j.per, j.parts, j.scale = split, idx, per, (rows+per-1)/per, 1/float32(rows)
	st.pool.run(j.parts, st.shardFn)
	j.split, j.idx = nil, nil
	var loss float64
	for _, l := range j.losses[:j.parts] {
		loss += l
	}
	return loss
}

func (st *state) runShard(i int) {
	j := &st.job
	lo := i * j.per
	st.shards[i].step, st.shards[i].rowOff = uint64(st.opt.step), lo
	j.losses[i] = st.shards[i].trainBatch(j.split, j.idx[lo:min(lo+j.per, len(j.idx))], j.scale)
}

// span is the i-th of the pool's ranges of the parameter vector (whole
// cache lines), the part of the reduction and the update thread i does.
func (st *state) span(i int) (lo, hi int) {
	n := len(st.net.params)
	w := (n + st.pool.size - 1) / st.pool.size
	w = (w + 15) &^ 15
	lo = min(i*w, n)
	return lo, min(lo+w, n)
}

// reduceGrads adds the gradients of shards 1.. to net.grads over span i.
func (st *state) reduceGrads(i int) {
	lo, hi := st.span(i)
	g := st.net.grads[lo:hi]
	for _, s := range st.shards[1:st.job.parts] {
		kernels.Axpy(1, s.grads[lo:hi], g)
	}
}

// applyUpdate is the optimizer's update over span i.
func (st *state) applyUpdate(i int) {
	lo, hi := st.span(i)
	st.opt.apply(st.net.params, st.net.grads, st.job.lr, lo, hi)
}

// reduceAndApply is reduceGrads then applyUpdate, while span i is in cache.
func (st *state) reduceAndApply(i int) {
	st.reduceGrads(i)
	st.applyUpdate(i)
}

// evaluate returns the mean loss and the accuracy of net on split.
func evaluate(net *network, split *Split) (loss, acc float64) {
	n := split.Len()
	if n == 0 {
		return 0, 0
	}
	correct := 0
	net.training = false
	for lo := 0; lo < n; lo += net.capRows {
		rows := min(net.capRows, n-lo)
		split.gatherRange(net.x, net.labels, lo, rows, net.inDim)
		net.forward(rows)
		loss += net.loss(rows, 0)
		correct += net.correct(rows)
	}
	return loss / float64(n), float64(correct) / float64(n)
}
