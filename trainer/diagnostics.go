package trainer

import (
	"math"

	"github.com/relutune/relutune/kernels"
)

// prober measures LayerStats on the probe batch. Its buffers are allocated
// once per Train call.
type prober struct {
	net    *network
	zeros  [][]int32 // per hidden layer, per unit: probe outputs equal to 0
	gradAc []float32 // accumulated gradient of the mean probe loss
	sums   []float64 // per hidden layer: sum, sum of squares, saturated count
}

func newProber(net *network, ds *Dataset) *prober {
	p := &prober{net: net, gradAc: make([]float32, len(net.params)), sums: make([]float64, 3*len(net.hidden))}
	for _, h := range net.hidden {
		p.zeros = append(p.zeros, make([]int32, h.units))
	}
	return p
}

// stats runs the probe batch (the first probeSize examples of split)
// through the network, forward and backward, in chunks the workspace holds,
// and returns one LayerStats per hidden layer. It leaves the parameters and
// the optimizer untouched.
func (p *prober) stats(split *Split) []LayerStats {
	net := p.net
	n := min(probeSize, split.Len())
	for _, z := range p.zeros {
		clear(z)
	}
	clear(p.sums)
	net.training = false
	for lo := 0; lo < n; lo += net.capRows {
		rows := min(net.capRows, n-lo)
		split.gatherRange(net.x, net.labels, lo, rows, net.inDim)
		net.forward(rows)
		for i, h := range net.hidden {
			dim := net.dims[h.act]
			y := net.outs[h.act][:rows*dim]
			kernels.CountZeroCols(p.zeros[i], y, rows*dim/h.units, h.units, h.units)
			s, sq, sat := moments(y, net.cfg.Activation)
			p.sums[3*i] += s
			p.sums[3*i+1] += sq
			p.sums[3*i+2] += sat
		}
		net.loss(rows, 1/float32(n))
		net.backward(rows)
		if lo == 0 {
			copy(p.gradAc, net.grads)
		} else {
			kernels.Axpy(1, net.grads, p.gradAc)
		}
	}
	out := make([]LayerStats, len(net.hidden))
	for i, h := range net.hidden {
		spatial := net.dims[h.act] / h.units
		total := float64(n * net.dims[h.act])
		dead := 0
		for _, z := range p.zeros[i] {
			if int(z) == n*spatial {
				dead++
			}
		}
		mean := p.sums[3*i] / total
		out[i] = LayerStats{
			DeadFraction: float64(dead) / float64(h.units),
			Saturation:   p.sums[3*i+2] / total,
			ActMean:      mean,
			ActStd:       math.Sqrt(max(p.sums[3*i+1]/total-mean*mean, 0)),
			GradNorm:     math.Sqrt(kernels.SumSquares(p.gradAc[h.paramOff : h.paramOff+h.paramN])),
		}
		if h.slopeOff >= 0 {
			s := float64(net.params[h.slopeOff])
			out[i].PReLUSlope = &s
		}
		if h.betaOff >= 0 {
			b := float64(net.params[h.betaOff])
			out[i].SwishBeta = &b
		}
	}
	return out
}

// moments returns the sum, the sum of squares and the number of saturated
// values of y (see LayerStats.Saturation).
func moments(y []float32, act Activation) (sum, sumSq, saturated float64) {
	var sat int
	for _, v := range y {
		f := float64(v)
		sum += f
		sumSq += f * f
	}
	switch act {
	case Sigmoid:
		for _, v := range y {
			if v < 0.01 || v > 0.99 {
				sat++
			}
		}
	case Tanh:
		for _, v := range y {
			if v < -0.99 || v > 0.99 {
				sat++
			}
		}
	}
	return sum, sumSq, float64(sat)
}
