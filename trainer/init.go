package trainer

import (
	"math"
	"math/rand/v2"
)

// initVariance is the variance of each weight the initialiser draws (for
// Orthogonal, the variance an entry of the orthogonal matrix has).
// slope is the negative-side slope the He gain accounts for.
func initVariance(init Init, fanIn, fanOut, outputs int, slope float64) float64 {
	switch init {
	case HeNormal, HeUniform:
		return 2 / (1 + slope*slope) / float64(fanIn)
	case XavierNormal, XavierUniform:
		return 2 / float64(fanIn+fanOut)
	case LecunNormal, LecunUniform:
		return 1 / float64(fanIn)
	default: // Orthogonal
		return 1 / float64(max(fanIn, outputs))
	}
}

// heSlope is the negative slope the He gain uses for an activation.
func heSlope(c Config) float64 {
	switch c.Activation {
	case LeakyReLU:
		return c.NegativeSlope
	case PReLU:
		return c.PReLUInit
	}
	return 0
}

// initWeights fills w, a fanIn x outputs matrix (row-major), from rng.
// fanOut is outputs times the kernel area for convolutions.
func initWeights(w []float32, init Init, fanIn, outputs, fanOut int, slope float64, rng *rand.Rand) {
	v := initVariance(init, fanIn, fanOut, outputs, slope)
	switch init {
	case HeNormal, XavierNormal, LecunNormal:
		sd := math.Sqrt(v)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * sd)
		}
	case HeUniform, XavierUniform, LecunUniform:
		a := math.Sqrt(3 * v)
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * a)
		}
	default:
		orthogonal(w, fanIn, outputs, rng)
	}
}

// orthogonal fills w (rows x cols) with a matrix whose columns (if rows >=
// cols) or rows (otherwise) are orthonormal: Gram-Schmidt on a Gaussian
// matrix, which gives the Q of its QR factorisation with R's diagonal
// positive, so Q is Haar-distributed.
func orthogonal(w []float32, rows, cols int, rng *rand.Rand) {
	n, k := rows, cols // q is n x k with orthonormal columns, n >= k
	if rows < cols {
		n, k = cols, rows
	}
	q := make([]float64, n*k) // column-major: column j is q[j*n:(j+1)*n]
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for j := range k {
		col := q[j*n : (j+1)*n]
		// Two passes of modified Gram-Schmidt keep the columns orthogonal to
		// rounding error.
		for range 2 {
			for p := range j {
				prev := q[p*n : (p+1)*n]
				var d float64
				for i := range n {
					d += prev[i] * col[i]
				}
				for i := range n {
					col[i] -= d * prev[i]
				}
			}
		}
		var s float64
		for _, x := range col {
			s += x * x
		}
		s = 1 / math.Sqrt(s)
		for i := range col {
			col[i] *= s
		}
	}
	for r := range rows {
		for c := range cols {
			if rows >= cols {
				w[r*cols+c] = float32(q[c*n+r])
			} else {
				w[r*cols+c] = float32(q[r*n+c])
			}
		}
	}
}
