package search

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchHistory is a study of n trials on conformanceSpace, as a long-running
// study would have: random configurations, most complete, some pruned,
// diverged, failed and in flight.
func benchHistory(b *testing.B, space *Space, n int) []Trial {
	b.Helper()
	history, err := simulateStudy(b, Random{}, space, n, 8, 99, nil)
	if err != nil {
		b.Fatal(err)
	}
	return history
}

// BenchmarkSuggest measures one suggestion against a history of N trials.
// The x-random metric is the time relative to the random sampler's on the
// same history in the same run (random itself hashes the history to avoid
// duplicates, so it is the floor of any sampler here).
func BenchmarkSuggest(b *testing.B) {
	space := conformanceSpace(b)
	for _, n := range []int{100, 1000} {
		history := benchHistory(b, space, n)
		baseline := timeSuggest(b, Random{}, space, history, 200)
		for _, name := range conformanceNames() {
			alg, multivariate := strings.CutSuffix(name, "+multivariate")
			opts := SamplerOptions{Multivariate: multivariate}
			if a, ok := strings.CutSuffix(alg, "+objectives"); ok {
				alg, opts.Directions = a, []Direction{Minimize, Maximize}
			}
			s, err := NewSampler(alg, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/history=%d", name, n), func(b *testing.B) {
				seed := uint64(0)
				for b.Loop() {
					seed++
					if _, err := Suggest(s, space, history, Minimize, 1, seed); err != nil {
						b.Fatal(err)
					}
				}
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perOp/1e6, "ms/suggestion")
				b.ReportMetric(perOp/float64(baseline.Nanoseconds()), "x-random")
			})
		}
	}
}

// timeSuggest returns the mean time of reps suggestions by s, after as many
// to warm up.
func timeSuggest(b *testing.B, s Sampler, space *Space, history []Trial, reps int) time.Duration {
	for i := range reps {
		if _, err := Suggest(s, space, history, Minimize, 1, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	for i := range reps {
		if _, err := Suggest(s, space, history, Minimize, 1, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(reps)
}
