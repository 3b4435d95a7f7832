package main

import "math"

// The AVX-512 GELU evaluates L(a) = log Phi(-a), a = |x|, piecewise: a is
// mapped to t = a*geluScale, k = round(t) picks one of 32 intervals (a
// register-resident table looked up with VPERMI2PS), and on each
// L = c0 + (d0 + u*(c1 + u*(c2 + u*(c3 + u*c4)))) with u = t-k in [-1/2, 1/2].
// c0 is L at the interval's centre rounded to float32 and stays apart from
// the small rest, so exp sees the argument in two parts and the result
// keeps its relative accuracy down to the subnormals.
const (
	geluTableMax = 14.5 // Phi(-14.5) is below the smallest float32
	geluEntries  = 32
)

// geluScale maps |x| to the table: the float32 the kernel multiplies by.
var geluScale = float64(float32(float64(geluEntries-1) / geluTableMax))

func logPhiNeg(a float64) float64 { return math.Log(0.5 * math.Erfc(a/math.Sqrt2)) }

// geluTables returns the tables c0, d0, c1, c2, c3 and c4.
func geluTables() map[string][geluEntries]float32 {
	var tabs [6][geluEntries]float32
	const deg = 4
	for k := 0; k < geluEntries; k++ {
		lo, hi := -0.5, 0.5
		if k == 0 {
			lo = 0
		}
		if k == geluEntries-1 {
			hi = 0
		}
		// Interpolate at Chebyshev nodes of [lo, hi], then solve for the
		// monomial coefficients in u.
		var v [deg + 1][deg + 2]float64
		for i := 0; i <= deg; i++ {
			u := (lo+hi)/2 + (hi-lo)/2*math.Cos(math.Pi*(float64(i)+0.5)/(deg+1))
			for j := 0; j <= deg; j++ {
				v[i][j] = math.Pow(u, float64(j))
			}
			v[i][deg+1] = logPhiNeg((float64(k) + u) / geluScale)
		}
		c := solve(v)
		c0 := float32(c[0])
		tabs[0][k] = c0
		tabs[1][k] = float32(c[0] - float64(c0))
		for j := 1; j <= deg; j++ {
			tabs[j+1][k] = float32(c[j])
		}
	}
	return map[string][geluEntries]float32{
		"gc0": tabs[0], "gd0": tabs[1], "gc1": tabs[2], "gc2": tabs[3], "gc3": tabs[4], "gc4": tabs[5],
	}
}

// solve solves the augmented linear system m by Gaussian elimination with
// partial pivoting.
func solve(m [5][6]float64) []float64 {
	const n = 5
	for col := 0; col < n; col++ {
		p := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		m[col], m[p] = m[p], m[col]
		for r := col + 1; r < n; r++ {
			f := m[r][col] / m[col][col]
			for j := col; j <= n; j++ {
				m[r][j] -= f * m[col][j]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for j := r + 1; j < n; j++ {
			s -= m[r][j] * x[j]
		}
		x[r] = s / m[r][r]
	}
	return x
}

// table registers a 32-entry float32 table and returns its symbol.
func (f *file) table(name string, vals [geluEntries]float32) string {
	if f.tables == nil {
		f.tables = map[string][geluEntries]float32{}
	}
	f.tables[name] = vals
	return name
}

func (f *file) writeTables() {
	for _, name := range sortedKeys(f.tables) {
		vals := f.tables[name]
		f.printf("\n")
		for i, v := range vals {
			f.printf("DATA %s<>+%d(SB)/4, $0x%08x\n", name, 4*i, math.Float32bits(v))
		}
		f.printf("GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", name, 4*geluEntries)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
