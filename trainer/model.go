package trainer

import (
	"cmp"
	"fmt"
	"math/rand/v2"

	"github.com/relutune/relutune/kernels"
)

// A network is a sequence of ops over row-major batches: each op maps a
// rows x inDim input to a rows x outDim output (images are stored per sample
// as height x width x channels, so a convolution's output rows are pixels and
// its columns channels). All parameters live in one flat vector, as do their
// gradients, so optimizers, clipping and checkpoints see a single slice.
type op interface {
	// forward computes out from in for rows samples.
	forward(n *network, in, out []float32, rows int)
	// backward computes the parameter gradients and, when dIn is not nil,
	// the gradient with respect to in. dIn may alias dOut for ops that allow it.
	backward(n *network, in, out, dOut, dIn []float32, rows int)
}

// network is a model with its parameters and a workspace for up to cap rows.
type network struct {
	cfg     Config
	ops     []op
	inDim   int
	dims    []int // per-sample output size of each op
	inplace []bool
	params  []float32
	grads   []float32
	segs    []segment
	hidden  []hiddenLayer
	classes int
	threads int
	capRows int
	x       []float32
	labels  []int32
	outs    [][]float32
	douts   [][]float32
	cols    []float32 // im2col scratch of the convolutions, one chunk at a time
	// convOut and poolArgs are the fused convolution blocks' workspace (conv.go).
	convOut  []float32
	poolArgs [][]uint8
	// bi is the training fast path for byte images, nil when it does not apply.
	bi *byteInput

	// training selects the training behaviour of batch normalisation
	// (batch statistics) and dropout (masks); evaluation and the
	// diagnostics run with it false.
	training bool
	// step is the optimizer step the current training batch belongs to and
	// rowOff the batch row of this network's first row (a shard's offset):
	// with the seed they determine the dropout masks.
	step   uint64
	rowOff int
	// bnStats holds, per batch-normalisation op, the statistics of the last
	// training forward pass: the mean, the biased variance and 1/sqrt(var+eps)
	// of each unit, units apart; bnCount is the values per unit they cover.
	bnStats [][]float32
	bnCount int
	bnScale []float32 // per-unit scratch of the batch-norm ops, 3 x the widest
	bns     []*batchNorm
	// running holds every batch-normalisation op's running mean and
	// variance; shards share it, and only the step updates it.
	running []float32
}

// hiddenLayer locates one hidden activation for diagnostics.
type hiddenLayer struct {
	act      int // index of the activation op
	units    int // columns of its output (channels for a convolution)
	paramOff int // the weights and biases of the layer feeding it
	paramN   int
	slopeOff int // PReLU slope index, or -1
	betaOff  int // learnable swish beta index, or -1
}

// dense is a fully connected layer: out = in*W + b, W stored in x out.
type dense struct {
	in, out    int
	wOff, bOff int
}

func (d *dense) forward(n *network, in, out []float32, rows int) {
	w := n.params[d.wOff : d.wOff+d.in*d.out]
	kernels.SgemmParallel(n.threads, false, false, rows, d.out, d.in, 1, in, d.in, w, d.out, 0, out, d.out)
	kernels.AddBias(out, rows, d.out, d.out, n.params[d.bOff:d.bOff+d.out])
}

func (d *dense) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	dw := n.grads[d.wOff : d.wOff+d.in*d.out]
	kernels.SgemmParallel(n.threads, true, false, d.in, d.out, rows, 1, in, d.in, dOut, d.out, 0, dw, d.out)
	kernels.ColSums(n.grads[d.bOff:d.bOff+d.out], dOut, rows, d.out, d.out)
	if dIn != nil {
		w := n.params[d.wOff : d.wOff+d.in*d.out]
		kernels.SgemmParallel(n.threads, false, true, rows, d.in, d.out, 1, dOut, d.out, w, d.out, 0, dIn, d.in)
	}
}

// activation applies the configured function element-wise.
type activation struct {
	kind     Activation
	dim      int     // per-sample size
	slope    float32 // leaky_relu
	alpha    float32 // elu
	slopeOff int     // prelu: index of the learnable slope in params
	// swish with beta != 1: beta, or its index in params when learnable
	// (betaOff >= 0). Plain swish (beta 1, fixed) uses the kernel.
	beta    float32
	betaOff int
}

// swishBeta is the beta of a swish op, or 0 when it is the plain kernel.
func (a *activation) swishBeta(n *network) float32 {
	if a.betaOff >= 0 {
		return n.params[a.betaOff]
	}
	return a.beta
}

func (a *activation) forward(n *network, in, out []float32, rows int) {
	x, y := in[:rows*a.dim], out[:rows*a.dim]
	if a.kind == Swish {
		if b := a.swishBeta(n); b != 0 {
			swishBetaForward(y, x, b)
			return
		}
	}
	switch a.kind {
	case ReLU:
		kernels.ReLU(y, x)
	case LeakyReLU:
		kernels.LeakyReLU(y, x, a.slope)
	case PReLU:
		kernels.PReLU(y, x, n.params[a.slopeOff])
	case ELU:
		kernels.ELU(y, x, a.alpha)
	case SELU:
		kernels.SELU(y, x)
	case Swish:
		kernels.Swish(y, x)
	case GELU:
		kernels.GELU(y, x)
	case Tanh:
		kernels.Tanh(y, x)
	case Sigmoid:
		kernels.Sigmoid(y, x)
	default:
		panic("trainer: unknown activation " + string(a.kind))
	}
}

func (a *activation) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	k := rows * a.dim
	x, y, dy := in[:k], out[:k], dOut[:k]
	if dIn == nil {
		panic("trainer: activation without an input gradient")
	}
	dx := dIn[:k]
	if a.kind == Swish {
		if b := a.swishBeta(n); b != 0 {
			g := swishBetaBackward(dx, dy, x, y, b)
			if a.betaOff >= 0 {
				n.grads[a.betaOff] = g
			}
			return
		}
	}
	switch a.kind {
	case ReLU:
		kernels.ReLUBackward(dx, dy, x, y)
	case LeakyReLU:
		kernels.LeakyReLUBackward(dx, dy, x, y, a.slope)
	case PReLU:
		n.grads[a.slopeOff] = kernels.PReLUBackward(dx, dy, x, y, n.params[a.slopeOff])
	case ELU:
		kernels.ELUBackward(dx, dy, x, y, a.alpha)
	case SELU:
		kernels.SELUBackward(dx, dy, x, y)
	case Swish:
		kernels.SwishBackward(dx, dy, x, y)
	case GELU:
		kernels.GELUBackward(dx, dy, x, y)
	case Tanh:
		kernels.TanhBackward(dx, dy, x, y)
	case Sigmoid:
		kernels.SigmoidBackward(dx, dy, x, y)
	}
}

// newNetwork builds the model of c for ds and initialises its parameters
// from rng. capRows is the largest batch it will process at once.
func newNetwork(c Config, ds *Dataset, capRows int, rng *rand.Rand) (*network, error) {
	n := &network{cfg: c, inDim: ds.Features, classes: ds.Classes, threads: max(c.Threads, 1)}
	nparams := 0
	alloc := func(k int, decay bool) int {
		off := nparams
		nparams += k
		n.segs = append(n.segs, segment{off: off, n: k, decay: decay})
		return off
	}
	type initSpec struct {
		off, fanIn, outputs, fanOut int
	}
	var inits []initSpec
	var bns []*batchNorm
	running := 0
	addBN := func(dim, units int) {
		b := &batchNorm{dim: dim, units: units, idx: len(bns), runOff: running}
		b.gOff = alloc(units, false)
		b.bOff = alloc(units, false)
		running += 2 * units
		bns = append(bns, b)
		n.ops = append(n.ops, b)
		n.dims = append(n.dims, dim)
		n.inplace = append(n.inplace, true)
	}
	addAct := func(dim, units, layerOff, layerN int) {
		if c.BatchNorm == BatchNormBefore {
			addBN(dim, units)
		}
		a := &activation{kind: c.Activation, dim: dim, slope: float32(c.NegativeSlope), alpha: float32(c.ELUAlpha), slopeOff: -1, betaOff: -1}
		if c.Activation == PReLU {
			a.slopeOff = alloc(1, false)
		}
		if c.Activation == Swish {
			if c.LearnSwishBeta {
				a.betaOff = alloc(1, false)
			} else if c.SwishBeta != 0 && c.SwishBeta != 1 {
				a.beta = float32(c.SwishBeta)
			}
		}
		n.hidden = append(n.hidden, hiddenLayer{act: len(n.ops), units: units, paramOff: layerOff, paramN: layerN, slopeOff: a.slopeOff, betaOff: a.betaOff})
		n.ops = append(n.ops, a)
		n.dims = append(n.dims, dim)
		n.inplace = append(n.inplace, true)
		if c.BatchNorm == BatchNormAfter {
			addBN(dim, units)
		}
		if c.Dropout > 0 {
			n.ops = append(n.ops, &dropout{dim: dim, layer: len(n.hidden) - 1, rate: float32(c.Dropout)})
			n.dims = append(n.dims, dim)
			n.inplace = append(n.inplace, true)
		}
	}
	dim := ds.Features
	if c.Model == CNN {
		if ds.Height == 0 {
			return nil, fmt.Errorf("%w: model: \"cnn\": dataset %q is not an image data set; use model mlp", ErrInvalidConfig, ds.Name)
		}
		h, w, ch := ds.Height, ds.Width, ds.Channels
		for i, cout := range c.Conv {
			if h < 2 || w < 2 {
				return nil, fmt.Errorf("%w: conv: %v: block %d would pool a %dx%d image; use fewer blocks", ErrInvalidConfig, c.Conv, i, h, w)
			}
			cv := &conv3x3{h: h, w: w, cin: ch, cout: cout}
			cv.wOff = alloc(9*ch*cout, true)
			cv.bOff = alloc(cout, false)
			inits = append(inits, initSpec{cv.wOff, 9 * ch, cout, 9 * cout})
			n.ops = append(n.ops, cv)
			n.dims = append(n.dims, h*w*cout)
			n.inplace = append(n.inplace, false)
			addAct(h*w*cout, cout, cv.wOff, 9*ch*cout+cout)
			p := &maxPool2{h: h, w: w, c: cout}
			n.ops = append(n.ops, p)
			h, w, ch = h/2, w/2, cout
			n.dims = append(n.dims, h*w*ch)
			n.inplace = append(n.inplace, false)
		}
		dim = h * w * ch
	}
	for _, width := range c.Hidden {
		d := &dense{in: dim, out: width}
		d.wOff = alloc(dim*width, true)
		d.bOff = alloc(width, false)
		inits = append(inits, initSpec{d.wOff, dim, width, width})
		n.ops = append(n.ops, d)
		n.dims = append(n.dims, width)
		n.inplace = append(n.inplace, false)
		addAct(width, width, d.wOff, dim*width+width)
		dim = width
	}
	out := &dense{in: dim, out: ds.Classes}
	out.wOff = alloc(dim*ds.Classes, true)
	out.bOff = alloc(ds.Classes, false)
	inits = append(inits, initSpec{out.wOff, dim, ds.Classes, ds.Classes})
	n.ops = append(n.ops, out)
	n.dims = append(n.dims, ds.Classes)
	n.inplace = append(n.inplace, false)

	n.fuseConvBlocks()
	n.params = make([]float32, nparams)
	n.grads = make([]float32, nparams)
	slope := heSlope(c)
	for _, s := range inits {
		initWeights(n.params[s.off:s.off+s.fanIn*s.outputs], c.Init, s.fanIn, s.outputs, s.fanOut, slope, rng)
	}
	for _, h := range n.hidden {
		if h.slopeOff >= 0 {
			n.params[h.slopeOff] = float32(c.PReLUInit)
		}
		if h.betaOff >= 0 {
			n.params[h.betaOff] = float32(cmp.Or(c.SwishBeta, 1))
		}
	}
	for _, b := range bns {
		for j := range b.units {
			n.params[b.gOff+j] = 1
		}
	}
	n.bns = bns
	if running > 0 {
		n.running = make([]float32, running)
		for _, b := range bns {
			for j := range b.units {
				n.running[b.runOff+b.units+j] = 1 // variance
			}
		}
	}
	n.allocWorkspace(capRows)
	if ds.Train.bytes != nil {
		n.bi = newByteInput(n, capRows)
	}
	return n, nil
}

// allocWorkspace sizes every activation and gradient buffer for rows samples.
func (n *network) allocWorkspace(rows int) {
	n.capRows = rows
	n.x = make([]float32, rows*n.inDim)
	n.labels = make([]int32, rows)
	n.outs = make([][]float32, len(n.ops))
	n.douts = make([][]float32, len(n.ops))
	for i, d := range n.dims {
		n.outs[i] = make([]float32, rows*d)
	}
	// The gradient with respect to an in-place op's input shares the buffer
	// of the gradient with respect to its output.
	for i := len(n.ops) - 1; i >= 0; i-- {
		if n.douts[i] == nil {
			n.douts[i] = make([]float32, rows*n.dims[i])
		}
		if n.inplace[i] && i > 0 {
			n.douts[i-1] = n.douts[i]
		}
	}
	scratch, widest := 0, 0
	n.bnStats = n.bnStats[:0]
	for _, o := range n.ops {
		if c, ok := o.(*conv3x3); ok {
			scratch = max(scratch, convScratchLen(c.h, c.w, c.cin, rows))
		}
		if b, ok := o.(*batchNorm); ok {
			n.bnStats = append(n.bnStats, make([]float32, 3*b.units))
			widest = max(widest, b.units)
		}
	}
	n.bnScale = nil
	if widest > 0 {
		n.bnScale = make([]float32, 3*widest)
	}
	n.cols = make([]float32, scratch)
	n.allocConvWorkspace(rows)
}

// shard returns a network that shares n's model and parameters but has its
// own gradient and workspace for up to rows samples and runs its matrix
// products on one thread: one of the batch-parallel step's replicas.
func (n *network) shard(rows int) *network {
	s := &network{cfg: n.cfg, ops: n.ops, inDim: n.inDim, dims: n.dims, inplace: n.inplace,
		params: n.params, grads: make([]float32, len(n.params)), segs: n.segs, hidden: n.hidden,
		classes: n.classes, threads: 1, running: n.running, bns: n.bns}
	s.allocWorkspace(rows)
	if n.bi != nil {
		s.bi = newByteInput(s, rows)
	}
	return s
}

// forward runs the network on the first rows of n.x; the logits end in
// n.outs[len-1].
func (n *network) forward(rows int) {
	in := n.x
	for i, o := range n.ops {
		o.forward(n, in, n.outs[i], rows)
		in = n.outs[i]
	}
}

// backward propagates n.douts[last] (the loss gradient of the logits) and
// fills n.grads.
func (n *network) backward(rows int) {
	for i := len(n.ops) - 1; i >= 0; i-- {
		in := n.x
		var dIn []float32
		if i > 0 {
			in = n.outs[i-1]
			dIn = n.douts[i-1]
		}
		n.ops[i].backward(n, in, n.outs[i], n.douts[i], dIn, rows)
	}
}

// logits returns the output of the last forward pass.
func (n *network) logits(rows int) []float32 {
	return n.outs[len(n.outs)-1][:rows*n.classes]
}

// loss computes the summed cross-entropy of the last forward pass against
// n.labels; when gradScale is not 0 it also writes gradScale times the
// gradient of the summed loss into n.douts[last].
func (n *network) loss(rows int, gradScale float32) float64 {
	var g []float32
	if gradScale != 0 {
		g = n.douts[len(n.douts)-1]
	}
	return kernels.SoftmaxCrossEntropy(g, n.logits(rows), n.labels[:rows], rows, n.classes, n.classes, gradScale)
}

// correct counts rows whose largest logit is at the label (first maximum wins).
func (n *network) correct(rows int) int {
	lg := n.logits(rows)
	c := 0
	for r := range rows {
		row := lg[r*n.classes : (r+1)*n.classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int32(best) == n.labels[r] {
			c++
		}
	}
	return c
}
