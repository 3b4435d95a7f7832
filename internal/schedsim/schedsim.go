// Package schedsim replays early-stopping schedulers over recorded learning
// curves. Training every configuration once for the full budget gives its
// metric at every epoch; replaying a scheduler over those curves, trials
// arriving one after another, shows which trials it would have stopped and
// how many epochs it would have spent, without training again.
package schedsim

import (
	"github.com/relutune/relutune/search"
)

// Outcome is a scheduler's replay over a set of curves.
type Outcome struct {
	Epochs   int     // epochs trained in all
	Best     float64 // best final value among trials that ran to the end
	Finished int     // trials that ran to the end
}

// Replay runs sched over curves (curves[i][e] is trial i's value after
// epoch e+1), trials in order, each seeing the rung values of the trials
// before it and its own.
func Replay(sched search.Scheduler, curves [][]float64, dir search.Direction) Outcome {
	var out Outcome
	atRung := map[int][]float64{}
	first := true
	for _, c := range curves {
		ran := len(c)
		for e := 1; e <= len(c); e++ {
			if !sched.Rung(e) {
				continue
			}
			atRung[e] = append(atRung[e], c[e-1])
			if !sched.Continue(e, c[e-1], atRung[e], dir) {
				ran = e
				break
			}
		}
		out.Epochs += ran
		if ran == len(c) {
			v := c[len(c)-1]
			if first || dir.Better(v, out.Best) {
				out.Best, first = v, false
			}
			out.Finished++
		}
	}
	return out
}
