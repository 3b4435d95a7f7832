package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/relutune/relutune/kernels"
)

// synthDataset is a small random classification set for numeric tests.
func synthDataset(name string, n, features, classes int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 3))
	mk := func(k int) Split {
		xs := make([]float32, k*features)
		ys := make([]int32, k)
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
		for i := range ys {
			ys[i] = int32(rng.IntN(classes))
		}
		return Split{n: k, floats: xs, labels: ys}
	}
	return &Dataset{Name: name, Features: features, Classes: classes, Train: mk(n), Val: mk(n), Test: mk(n)}
}

// synthImages is a small random image set (h x w x 1) for CNN tests.
func synthImages(name string, n, h, w, classes int, seed uint64) *Dataset {
	ds := synthDataset(name, n, h*w, classes, seed)
	ds.Height, ds.Width, ds.Channels = h, w, 1
	return ds
}

// activationLoss evaluates L = sum_i c_i*f(x_i) in float64 with the
// network's activation op.
func activationLoss(n *network, a *activation, x, c []float32) float64 {
	y := make([]float32, len(x))
	a.forward(n, x, y, 1)
	var s float64
	for i := range y {
		s += float64(c[i]) * float64(y[i])
	}
	return s
}

// TestActivationGradients compares each activation's backward pass (and
// PReLU's slope gradient) with central finite differences of its forward pass.
func TestActivationGradients(t *testing.T) {
	const dim, h = 64, 1e-2
	for _, act := range Activations() {
		t.Run(string(act), func(t *testing.T) {
			cfg := Config{Dataset: "t", Hidden: []int{dim}, Activation: act, NegativeSlope: 0.1, ELUAlpha: 0.7, PReLUInit: 0.2}.WithDefaults()
			n, err := newNetwork(cfg, synthDataset("t", 4, 3, 2, 1), 4, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			a := n.ops[n.hidden[0].act].(*activation)
			rng := rand.New(rand.NewPCG(7, 7))
			x := make([]float32, dim)
			c := make([]float32, dim)
			for i := range x {
				// Keep away from the kink at 0 so the difference quotient is defined.
				v := rng.Float64()*6 - 3
				if math.Abs(v) < 3*h {
					v = 0.5
				}
				x[i] = float32(v)
				c[i] = float32(rng.NormFloat64())
			}
			y := make([]float32, dim)
			a.forward(n, x, y, 1)
			dx := make([]float32, dim)
			dy := append([]float32(nil), c...)
			a.backward(n, x, y, dy, dx, 1)
			for i := range x {
				xp := append([]float32(nil), x...)
				xm := append([]float32(nil), x...)
				xp[i] += h
				xm[i] -= h
				fd := (activationLoss(n, a, xp, c) - activationLoss(n, a, xm, c)) / (float64(xp[i]) - float64(xm[i]))
				if !close(float64(dx[i]), fd, 2e-3, 2e-3) {
					t.Errorf("x=%v: backward %v, finite difference %v", x[i], dx[i], fd)
				}
			}
			if act == PReLU {
				got := n.grads[a.slopeOff]
				s0 := n.params[a.slopeOff]
				n.params[a.slopeOff] = s0 + h
				lp := activationLoss(n, a, x, c)
				n.params[a.slopeOff] = s0 - h
				lm := activationLoss(n, a, x, c)
				n.params[a.slopeOff] = s0
				fd := (lp - lm) / (2 * h)
				if !close(float64(got), fd, 2e-3, 2e-3) {
					t.Errorf("slope gradient %v, finite difference %v", got, fd)
				}
			}
		})
	}
}

func close(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Max(math.Abs(got), math.Abs(want))
}

// netLoss is the mean cross-entropy of n on its current batch, in float64.
func netLoss(n *network, rows int) float64 {
	n.forward(rows)
	return n.loss(rows, 0) / float64(rows)
}

// checkNetworkGradient compares backpropagated parameter gradients of the
// mean batch loss with central finite differences, for every parameter.
func checkNetworkGradient(t *testing.T, cfg Config, ds *Dataset, rows int, h float32) {
	t.Helper()
	checkNetworkGradientMode(t, cfg, ds, rows, h, false, nil)
}

// checkNetworkGradientMode is checkNetworkGradient in training mode (batch
// statistics, dropout masks of step 3) or evaluation mode, after prepare,
// when not nil, has adjusted the network (running statistics, parameters).
func checkNetworkGradientMode(t *testing.T, cfg Config, ds *Dataset, rows int, h float32, training bool, prepare func(*network)) {
	t.Helper()
	cfg = cfg.WithDefaults()
	n, err := newNetwork(cfg, ds, rows, rand.New(rand.NewPCG(cfg.Seed, streamInit)))
	if err != nil {
		t.Fatal(err)
	}
	n.training, n.step = training, 3
	if prepare != nil {
		prepare(n)
	}
	ds.Train.gatherRange(n.x, n.labels, 0, rows, n.inDim)
	n.forward(rows)
	n.loss(rows, 1/float32(rows))
	n.backward(rows)
	grads := append([]float32(nil), n.grads...)
	bad := 0
	for i := range n.params {
		p := n.params[i]
		n.params[i] = p + h
		lp := netLoss(n, rows)
		n.params[i] = p - h
		lm := netLoss(n, rows)
		n.params[i] = p
		fd := (lp - lm) / (float64(p+h) - float64(p-h))
		if !close(float64(grads[i]), fd, 2e-2, 5e-4) {
			bad++
			if bad <= 5 {
				t.Errorf("param %d: backprop %v, finite difference %v", i, grads[i], fd)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d parameter gradients disagree", bad, len(n.params))
	}
}

// TestNetworkGradients checks whole small networks, one per activation,
// and CNNs, against finite differences. The CNN uses a smaller step: a
// larger one moves max-pooling windows across ties, where the loss is not
// differentiable.
func TestNetworkGradients(t *testing.T) {
	for _, act := range Activations() {
		t.Run("mlp/"+string(act), func(t *testing.T) {
			ds := synthDataset("t", 8, 5, 3, 2)
			checkNetworkGradient(t, Config{Dataset: "t", Hidden: []int{6, 5}, Activation: act, Seed: 3}, ds, 8, 1e-2)
		})
	}
	for _, act := range []Activation{ReLU, Tanh, PReLU, GELU} {
		t.Run("cnn/"+string(act), func(t *testing.T) {
			ds := synthImages("t", 3, 6, 6, 3, 1)
			checkNetworkGradient(t, Config{Dataset: "t", Model: CNN, Conv: []int{3, 2}, Hidden: []int{4}, Activation: act, Seed: 1}, ds, 3, 1e-3)
		})
	}
	// A one-channel convolution after the first: its input gradient goes
	// through col2imT1.
	for _, conv := range [][]int{{1, 2}} {
		t.Run(fmt.Sprintf("cnn/conv%v", conv), func(t *testing.T) {
			ds := synthImages("t", 3, 8, 8, 3, 1)
			checkNetworkGradient(t, Config{Dataset: "t", Model: CNN, Conv: conv, Hidden: []int{4}, Activation: ReLU, Seed: 1}, ds, 3, 1e-3)
		})
	}
}

// TestIm2colAdjoint checks <im2col(x), c> == <x, col2im(c)>, the identity
// the convolution's input gradient relies on, for both layouts and for
// channel counts on either side of col2im's vector path.
func TestIm2colAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, h, w = 2, 5, 4
	for _, ch := range []int{1, 3, 16} {
		x := make([]float32, rows*h*w*ch)
		c := make([]float32, rows*h*w*9*ch)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		type pair struct {
			name string
			fwd  func(cols, x []float32)
			adj  func(dx, c []float32)
		}
		pairs := []pair{{"Im2col3x3", func(cols, x []float32) { kernels.Im2col3x3(cols, x, rows, h, w, ch) }, func(dx, c []float32) { kernels.Col2im3x3(dx, c, rows, h, w, ch) }}}
		if ch == 1 {
			pairs = append(pairs, pair{"im2colT1", func(cols, x []float32) { im2colT1(cols, x, rows, h, w) }, func(dx, c []float32) { col2imT1(dx, c, rows, h, w) }})
		}
		for _, p := range pairs {
			cols := make([]float32, len(c))
			p.fwd(cols, x)
			dx := make([]float32, len(x))
			p.adj(dx, c)
			var a, b float64
			for i := range c {
				a += float64(cols[i]) * float64(c[i])
			}
			for i := range x {
				b += float64(x[i]) * float64(dx[i])
			}
			if !close(a, b, 1e-5, 1e-5) {
				t.Fatalf("%s, %d channels: <im2col(x), c> = %v, <x, col2im(c)> = %v", p.name, ch, a, b)
			}
		}
	}
}

// TestConvPoolFusion checks that the fused convolution blocks compute the
// loss and gradients of the separate conv3x3, ReLU and maxPool2 ops, that
// they are used exactly where nothing sits between those ops.
// TestNetworkGradients checks the fused blocks against finite differences:
// its ReLU CNNs are fused (the first case here is its network).
func TestConvPoolFusion(t *testing.T) {
	for _, tc := range []struct {
		conv  []int
		act   Activation
		h, w  int
		fused int
	}{
		{[]int{3, 2}, ReLU, 6, 6, 2},
		{[]int{16, 8}, ReLU, 10, 10, 2}, // vector pooling kernels (channels multiple of 8)
		{[]int{8, 8}, ReLU, 7, 9, 2},    // odd sizes: dropped rows and columns
		{[]int{3}, Tanh, 6, 6, 0},
	} {
		t.Run(fmt.Sprintf("%v/%s/%dx%d", tc.conv, tc.act, tc.h, tc.w), func(t *testing.T) {
			const rows = 5
			ds := synthImages("t", rows, tc.h, tc.w, 3, 1)
			cfg := Config{Dataset: "t", Model: CNN, Conv: tc.conv, Hidden: []int{4}, Activation: tc.act, Seed: 1}.WithDefaults()
			run := func(fuse bool) (*network, float64, []float32) {
				defer func(saved bool) { fuseConvs = saved }(fuseConvs)
				fuseConvs = fuse
				n, err := newNetwork(cfg, ds, rows, rand.New(rand.NewPCG(cfg.Seed, streamInit)))
				if err != nil {
					t.Fatal(err)
				}
				ds.Train.gatherRange(n.x, n.labels, 0, rows, n.inDim)
				n.forward(rows)
				loss := n.loss(rows, 1/float32(rows))
				n.backward(rows)
				return n, loss, n.grads
			}
			fn, fl, fg := run(true)
			sn, sl, sg := run(false)
			fused := 0
			for _, o := range fn.ops {
				if _, ok := o.(*convPool); ok {
					fused++
				}
			}
			if fused != tc.fused {
				t.Fatalf("%d fused blocks, want %d", fused, tc.fused)
			}
			if len(fn.ops)+2*fused != len(sn.ops) || len(fn.hidden) != len(sn.hidden) {
				t.Fatalf("fused network has %d ops and %d hidden layers, separate %d and %d", len(fn.ops), len(fn.hidden), len(sn.ops), len(sn.hidden))
			}
			for i, h := range fn.hidden {
				if h.units != sn.hidden[i].units || h.act >= len(fn.ops) || fn.dims[h.act]%h.units != 0 {
					t.Fatalf("hidden layer %d: %+v, separate %+v", i, h, sn.hidden[i])
				}
			}
			if !close(fl, sl, 1e-6, 1e-7) {
				t.Fatalf("loss %v fused, %v separate", fl, sl)
			}
			for i := range fg {
				if !close(float64(fg[i]), float64(sg[i]), 1e-4, 1e-6) {
					t.Fatalf("gradient %d: %v fused, %v separate", i, fg[i], sg[i])
				}
			}
		})
	}
}
