package importance

import (
	"math"
	"strconv"
	"testing"

	"github.com/relutune/relutune/search"
)

// BenchmarkEvaluate fits and decomposes the default forest (64 trees) over
// studies of 7 parameters; the work grows with the square of the trials.
func BenchmarkEvaluate(b *testing.B) {
	u := func(name string) search.Param { return search.Param{Name: name, Kind: search.Float, Low: 0, High: 1} }
	space, err := search.NewSpace([]search.Param{u("a"), u("b"), u("c"), u("d"), u("e"), u("f"), u("g")})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{50, 200, 800} {
		trials := sample(space, n, 3, func(c search.Config) float64 { return math.Sin(3*c["a"].Float()) + c["b"].Float()*c["c"].Float() })
		b.Run("trials="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Evaluate(space, trials, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
