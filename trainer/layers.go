package trainer

import (
	"math"

	"github.com/relutune/relutune/kernels"
)

// bnEpsilon is added to the variance before its square root, and
// bnMomentum is the weight of a batch in the running statistics (PyTorch's
// BatchNorm defaults).
const (
	bnEpsilon  = 1e-5
	bnMomentum = 0.1
)

// batchNorm normalises each unit over the batch (for a convolution, a unit
// is a channel, normalised over the batch and every position):
// y = gamma*(x-mean)/sqrt(var+eps) + beta. In training the mean and the
// biased variance are the batch's, kept in n.bnStats for the backward pass
// and the running statistics; in evaluation they are the running ones.
type batchNorm struct {
	dim, units int // per-sample size; units (dim is a multiple)
	gOff, bOff int // gamma and beta in params
	runOff     int // running mean at runOff, running variance units after
	idx        int // index in n.bnStats
}

func (b *batchNorm) forward(n *network, in, out []float32, rows int) {
	u := b.units
	m := rows * b.dim / u // values per unit
	x, y := in[:m*u], out[:m*u]
	st := n.bnStats[b.idx]
	mean, vr, inv := st[:u], st[u:2*u], st[2*u:3*u]
	if n.training {
		// Two passes (mean, then the centred squares) in float32 with the
		// sums of each unit kept apart; the column sums use the kernel.
		kernels.ColSums(mean, x, m, u, u)
		kernels.Scale(1/float32(m), mean)
		clear(vr)
		for r := range m {
			row := x[r*u : (r+1)*u]
			for j, v := range row {
				d := v - mean[j]
				vr[j] += d * d
			}
		}
		for j := range vr {
			vr[j] /= float32(m)
			inv[j] = float32(1 / math.Sqrt(float64(vr[j])+bnEpsilon))
		}
		n.bnCount = m
	} else {
		copy(mean, n.running[b.runOff:b.runOff+u])
		copy(vr, n.running[b.runOff+u:b.runOff+2*u])
		for j := range vr {
			inv[j] = float32(1 / math.Sqrt(float64(vr[j])+bnEpsilon))
		}
	}
	// y = (x-mean)*a + beta per unit, with a = gamma*inv (n.bnScale is the
	// network's per-unit scratch); centring first keeps the precision when
	// the mean is large against the spread.
	gamma, beta := n.params[b.gOff:b.gOff+u], n.params[b.bOff:b.bOff+u]
	a := n.bnScale[:u]
	for j := range u {
		a[j] = gamma[j] * inv[j]
	}
	for r := range m {
		xr, yr := x[r*u:(r+1)*u:(r+1)*u], y[r*u:(r+1)*u:(r+1)*u]
		for j := range xr {
			yr[j] = (xr[j]-mean[j])*a[j] + beta[j]
		}
	}
}

// backward: with xh = (x-mean)*inv, dgamma = sum(dy*xh), dbeta = sum(dy),
// and in training dx = gamma*inv*(dy - dbeta/m - xh*dgamma/m) (the batch
// statistics depend on x); in evaluation dx = gamma*inv*dy. dIn may alias
// dOut: the sums are taken before dx is written.
func (b *batchNorm) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	u := b.units
	m := rows * b.dim / u
	x, dy := in[:m*u], dOut[:m*u]
	st := n.bnStats[b.idx]
	mean, inv := st[:u], st[2*u:3*u]
	dg, db := n.grads[b.gOff:b.gOff+u], n.grads[b.bOff:b.bOff+u]
	kernels.ColSums(db, dy, m, u, u)
	clear(dg)
	for r := range m {
		xr, dr := x[r*u:(r+1)*u], dy[r*u:(r+1)*u]
		for j, v := range xr {
			dg[j] += dr[j] * (v - mean[j]) * inv[j]
		}
	}
	if dIn == nil {
		return
	}
	gamma := n.params[b.gOff : b.gOff+u]
	dx := dIn[:m*u]
	if !n.training {
		for r := range m {
			dr, xr := dy[r*u:(r+1)*u], dx[r*u:(r+1)*u]
			for j := range dr {
				xr[j] = gamma[j] * inv[j] * dr[j]
			}
		}
		return
	}
	// dx = a*(dy - db/m - xh*dg/m) with a = gamma*inv and xh = (x-mean)*inv,
	// as dx = a*dy + p*(x-mean) + q per unit: p = -a*inv*dg/m, q = -a*db/m.
	fm := float32(m)
	a, q := n.bnScale[:u], n.bnScale[u:2*u]
	p := n.bnScale[2*u : 3*u]
	for j := range u {
		a[j] = gamma[j] * inv[j]
		p[j] = -a[j] * inv[j] * dg[j] / fm
		q[j] = -a[j] * db[j] / fm
	}
	for r := range m {
		xr, dr, out := x[r*u:(r+1)*u:(r+1)*u], dy[r*u:(r+1)*u:(r+1)*u], dx[r*u:(r+1)*u:(r+1)*u]
		for j := range xr {
			out[j] = a[j]*dr[j] + p[j]*(xr[j]-mean[j]) + q[j]
		}
	}
}

// updateRunning folds the batch statistics of the last training step into
// the running mean and variance: the shards' statistics combined as one
// batch (their means weighted by their rows; the variance unbiased).
func updateRunning(run []float32, nets []*network, bns []*batchNorm) {
	for _, b := range bns {
		u := b.units
		rm, rv := run[b.runOff:b.runOff+u], run[b.runOff+u:b.runOff+2*u]
		for j := range u {
			var total, sum, sq float64
			for _, s := range nets {
				st := s.bnStats[b.idx]
				k := float64(s.bnCount)
				mu, v := float64(st[j]), float64(st[u+j])
				total += k
				sum += k * mu
				sq += k * (v + mu*mu)
			}
			mean := sum / total
			vr := max(sq/total-mean*mean, 0)
			if total > 1 {
				vr *= total / (total - 1)
			}
			rm[j] = float32((1-bnMomentum)*float64(rm[j]) + bnMomentum*mean)
			rv[j] = float32((1-bnMomentum)*float64(rv[j]) + bnMomentum*vr)
		}
	}
}

// dropout is inverted dropout: in training each value is kept with
// probability 1-rate and scaled by 1/(1-rate), else zeroed; in evaluation
// it is the identity. Whether a value is dropped is a hash of the seed, the
// optimizer step, the hidden layer, the batch row and the unit, so the masks
// of a step are the same however it is sharded and after a resume, and the
// backward pass recomputes them instead of storing them.
type dropout struct {
	dim   int // per-sample size
	layer int // hidden layer index
	rate  float32
}

// keepThreshold is the 16-bit hash value below which a unit is dropped:
// the rate is used to the nearest 1/65536.
func (d *dropout) keepThreshold() uint64 { return uint64(math.Round(float64(d.rate) * (1 << 16))) }

// rowHash is the hash every unit of a row derives its mask bits from.
func (d *dropout) rowHash(n *network, row int) uint64 {
	h := mix64(n.cfg.Seed ^ 0x6a09e667f3bcc909)
	h = mix64(h ^ n.step)
	h = mix64(h ^ uint64(d.layer))
	return mix64(h ^ uint64(row))
}

// mix64 is the SplitMix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// apply writes dst = src*mask/(1-rate) for rows rows; dst may alias src.
// Units 4k to 4k+3 of a row take the four 16-bit parts of one 64-bit hash
// of the row's hash and k.
func (d *dropout) apply(n *network, dst, src []float32, rows int) {
	thr := d.keepThreshold()
	scale := math.Float32bits(1 / (1 - d.rate))
	for r := range rows {
		rh := d.rowHash(n, n.rowOff+r)
		s, o := src[r*d.dim:(r+1)*d.dim], dst[r*d.dim:(r+1)*d.dim]
		o = o[:len(s)]
		var h uint64
		for j, v := range s {
			if j&3 == 0 {
				h = mix64(rh + uint64(j>>2)*0x9e3779b97f4a7c15)
			}
			// Branch-free: the factor is 0 or 1/(1-rate) by an integer select.
			m := scale
			if h&0xffff < thr {
				m = 0
			}
			o[j] = v * math.Float32frombits(m)
			h >>= 16
		}
	}
}

func (d *dropout) forward(n *network, in, out []float32, rows int) {
	if !n.training {
		copy(out[:rows*d.dim], in[:rows*d.dim])
		return
	}
	d.apply(n, out, in, rows)
}

func (d *dropout) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	if dIn == nil {
		return
	}
	if !n.training {
		copy(dIn[:rows*d.dim], dOut[:rows*d.dim])
		return
	}
	d.apply(n, dIn, dOut, rows)
}

// swishBetaForward sets y = x*sigmoid(beta*x), the sigmoid by the kernel.
func swishBetaForward(y, x []float32, beta float32) {
	copy(y, x)
	kernels.Scale(beta, y)
	kernels.Sigmoid(y, y)
	for i, v := range x {
		y[i] *= v
	}
}

// swishBetaBackward sets dx = dy*(s + beta*x*s*(1-s)) with s = sigmoid(beta*x)
// recovered from the forward output as y/x (1/2 where x is 0 or too small
// for the quotient), and returns the gradient with respect to beta,
// sum(dy*x*x*s*(1-s)). dx may alias dy.
func swishBetaBackward(dx, dy, x, y []float32, beta float32) float32 {
	var g float32
	for i, v := range x {
		s := float32(0.5)
		if v > 1e-20 || v < -1e-20 {
			s = y[i] / v
		}
		d := s * (1 - s)
		g += dy[i] * v * v * d
		dx[i] = dy[i] * (s + beta*v*d)
	}
	return g
}
