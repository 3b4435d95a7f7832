package trainer

import (
	"math"

	"github.com/relutune/relutune/kernels"
)

// segment is a run of the flat parameter vector; decay marks weight
// matrices and kernels (weight decay skips biases and PReLU slopes).
type segment struct {
	off, n int
	decay  bool
}

// optimizer updates the flat parameter vector in place from its gradient.
// Its state (m, v and the step count) is part of a checkpoint.
type optimizer struct {
	kind     OptimizerKind
	mu       float32
	nesterov bool
	wd       float32
	segs     []segment
	m, v     []float32 // momentum buffer / Adam first moment; Adam second moment
	step     int64     // completed updates
}

const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

func newOptimizer(c Config, nparams int, segs []segment) *optimizer {
	o := &optimizer{kind: c.Optimizer, mu: float32(c.Momentum), nesterov: c.Nesterov, wd: float32(c.WeightDecay), segs: segs}
	switch c.Optimizer {
	case Momentum:
		o.m = make([]float32, nparams)
	case Adam, AdamW:
		o.m = make([]float32, nparams)
		o.v = make([]float32, nparams)
	}
	return o
}

// update applies one step with learning rate lr to params given grads
// (grads may be modified: L2 decay is added to it).
func (o *optimizer) update(params, grads []float32, lr float32) {
	o.step++
	o.apply(params, grads, lr, 0, len(params))
}

// apply is the element-wise part of update (o.step already counts the
// step) over params[lo:hi]: disjoint ranges can run concurrently, and any
// split gives the result of one call over the whole vector.
func (o *optimizer) apply(params, grads []float32, lr float32, lo, hi int) {
	// decayed calls fn on the parts of [lo, hi) in decayed segments.
	decayed := func(fn func(lo, hi int)) {
		for _, s := range o.segs {
			if a, b := max(lo, s.off), min(hi, s.off+s.n); s.decay && a < b {
				fn(a, b)
			}
		}
	}
	if o.wd != 0 && o.kind != AdamW {
		// L2 regularisation: g += wd*w on the decayed segments.
		decayed(func(a, b int) { kernels.Axpy(o.wd, params[a:b], grads[a:b]) })
	}
	p, g := params[lo:hi], grads[lo:hi]
	switch o.kind {
	case SGD:
		kernels.Axpy(-lr, g, p)
	case Momentum:
		// v = mu*v + g, as torch.optim.SGD (dampening 0).
		m := o.m[lo:hi]
		kernels.Scale(o.mu, m)
		kernels.Axpy(1, g, m)
		if o.nesterov {
			kernels.Axpy(-lr, g, p)
			kernels.Axpy(-lr*o.mu, m, p)
		} else {
			kernels.Axpy(-lr, m, p)
		}
	case Adam, AdamW:
		if o.kind == AdamW && o.wd != 0 {
			f := 1 - lr*o.wd
			decayed(func(a, b int) { kernels.Scale(f, params[a:b]) })
		}
		t := float64(o.step)
		bc1 := 1 - math.Pow(adamBeta1, t)
		bc2 := 1 - math.Pow(adamBeta2, t)
		adamStep(p, g, o.m[lo:hi], o.v[lo:hi], float32(float64(lr)/bc1), float32(1/math.Sqrt(bc2)))
	}
}

// adamConsts are the scalars of one Adam update, laid out for the assembly.
type adamConsts struct {
	b1, c1, b2, c2, eps, stepSize, invSqrtBC2 float32
}

func newAdamConsts(stepSize, invSqrtBC2 float32) adamConsts {
	const b1, b2 = float32(adamBeta1), float32(adamBeta2)
	return adamConsts{b1: b1, c1: 1 - b1, b2: b2, c2: 1 - b2, eps: adamEps, stepSize: stepSize, invSqrtBC2: invSqrtBC2}
}

// adamStepGeneric is torch.optim.Adam's update, the reference of adamStep:
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; w -= stepSize*m/(sqrt(v)*invSqrtBC2 + eps).
func adamStepGeneric(w, g, m, v []float32, stepSize, invSqrtBC2 float32) {
	c := newAdamConsts(stepSize, invSqrtBC2)
	g = g[:len(w)]
	m = m[:len(w)]
	v = v[:len(w)]
	for i := range w {
		gi := g[i]
		// The conversions round each product, so no build fuses a
		// multiply-add and the assembly (which does not either) matches.
		mi := float32(c.b1*m[i]) + float32(c.c1*gi)
		vi := float32(c.b2*v[i]) + float32(float32(c.c2*gi)*gi)
		m[i], v[i] = mi, vi
		d := float32(float32(math.Sqrt(float64(vi)))*c.invSqrtBC2) + c.eps
		w[i] -= float32(c.stepSize*mi) / d
	}
}

// learningRate is the rate of global step `step` (0-based) given the steps
// per epoch: linear warmup, then the schedule.
func learningRate(c Config, step, stepsPerEpoch int) float64 {
	lr := c.LearningRate
	warm := c.WarmupEpochs * stepsPerEpoch
	if step < warm {
		return lr * float64(step+1) / float64(warm)
	}
	switch c.LRSchedule {
	case ScheduleStep:
		return lr * math.Pow(c.StepGamma, float64((step/stepsPerEpoch)/c.StepEpochs))
	case ScheduleCosine:
		total := c.Epochs*stepsPerEpoch - warm
		if total <= 0 {
			return lr
		}
		return lr * 0.5 * (1 + math.Cos(math.Pi*float64(step-warm)/float64(total)))
	}
	return lr
}
