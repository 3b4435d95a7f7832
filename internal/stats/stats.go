// Package stats holds the small statistics relutune reports: means,
// standard deviations and Student-t confidence intervals.
package stats

import "math"

// t95 holds two-sided 95% Student t quantiles for 1..30 degrees of freedom.
var t95 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// T95 is the two-sided 95% Student t quantile for df degrees of freedom
// (1.96 beyond 30; NaN below 1). The same table backs the SQL function t95.
func T95(df int) float64 {
	switch {
	case df < 1:
		return math.NaN()
	case df <= len(t95):
		return t95[df-1]
	}
	return 1.96
}

// Summary describes a sample.
type Summary struct {
	N      int
	Mean   float64
	Stddev float64 // sample standard deviation; NaN for N < 2
	Low    float64 // 95% confidence interval of the mean; NaN for N < 2
	High   float64
}

// Summarize returns the mean, standard deviation and 95% t interval of xs.
func Summarize(xs []float64) Summary {
	s := Summary{N: len(xs), Mean: math.NaN(), Stddev: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if len(xs) == 0 {
		return s
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	s.Mean = sum / float64(len(xs))
	if len(xs) < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	s.Stddev = math.Sqrt(ss / float64(len(xs)-1))
	h := T95(len(xs)-1) * s.Stddev / math.Sqrt(float64(len(xs)))
	s.Low, s.High = s.Mean-h, s.Mean+h
	return s
}
