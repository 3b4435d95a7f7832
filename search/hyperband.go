package search

import (
	"math"
)

// Hyperband runs several ASHA brackets side by side (Li et al.,
// "Hyperband", JMLR 2018, asynchronously as in Li et al., MLSys 2020, and
// Optuna's HyperbandPruner). Bracket b is ASHA whose first rung is
// MinEpochs * Reduction^b: bracket 0 stops trials earliest, the last
// bracket lets every trial run to MaxEpochs. A trial's bracket depends only
// on its number, and it is compared only with the trials of its bracket.
// Brackets get trials in proportion to Hyperband's budgets: with S
// brackets, bracket b gets ceil(S * Reduction^s / (s+1)) shares, s = S-1-b.
//
// Through the plain Scheduler interface, which knows no trial numbers,
// Hyperband decides as its bracket 0; callers that know the trial use
// ForTrial and Decide.
type Hyperband struct {
	MinEpochs, MaxEpochs, Reduction int
	// Brackets is the number of brackets, at most MaxBrackets (0 means
	// MaxBrackets).
	Brackets int
}

// Name implements Scheduler.
func (Hyperband) Name() string { return string(SchedulerHyperband) }

func (h Hyperband) norm() Hyperband {
	h.MinEpochs = max(h.MinEpochs, 1)
	if h.Reduction < 2 {
		h.Reduction = defaultReduction
	}
	if most := h.MaxBrackets(); h.Brackets <= 0 || h.Brackets > most {
		h.Brackets = most
	}
	return h
}

// MaxBrackets is the number of distinct brackets MinEpochs, MaxEpochs and
// Reduction allow: floor(log_Reduction(MaxEpochs / MinEpochs)) + 1.
func (h Hyperband) MaxBrackets() int {
	lo, r := max(h.MinEpochs, 1), h.Reduction
	if r < 2 {
		r = defaultReduction
	}
	n := 1
	for e := lo; e <= h.MaxEpochs/r; e *= r {
		n++
	}
	return n
}

// bracket returns bracket b's ASHA.
func (h Hyperband) bracket(b int) ASHA {
	e := h.MinEpochs
	for range b {
		if e > math.MaxInt/h.Reduction {
			break
		}
		e *= h.Reduction
	}
	return ASHA{MinEpochs: e, MaxEpochs: h.MaxEpochs, Reduction: h.Reduction}
}

// Bracket returns the bracket of trial number n.
func (h Hyperband) Bracket(trial int) int {
	h = h.norm()
	shares := make([]int, h.Brackets)
	total := 0
	for b := range shares {
		s := h.Brackets - 1 - b
		shares[b] = int(math.Ceil(float64(h.Brackets) * math.Pow(float64(h.Reduction), float64(s)) / float64(s+1)))
		total += shares[b]
	}
	// A fixed mix of the number, so consecutive trials (replicates of one
	// configuration) spread over the brackets as the shares say.
	u := int(splitmix64(uint64(trial)) % uint64(total))
	for b, s := range shares {
		if u < s {
			return b
		}
		u -= s
	}
	return h.Brackets - 1
}

// ForTrial returns the ASHA of trial's bracket.
func (h Hyperband) ForTrial(trial int) Scheduler {
	h = h.norm()
	return h.bracket(h.Bracket(trial))
}

// Rung implements Scheduler: every bracket's rungs are among bracket 0's.
func (h Hyperband) Rung(epoch int) bool {
	h = h.norm()
	return h.bracket(0).Rung(epoch)
}

// Continue implements Scheduler, as bracket 0.
func (h Hyperband) Continue(epoch int, value float64, peers []float64, dir Direction) bool {
	h = h.norm()
	return h.bracket(0).Continue(epoch, value, peers, dir)
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// RungValue is one trial's value at a decision epoch.
type RungValue struct {
	Trial int
	Value float64
}

// trialScheduler is implemented by schedulers whose decisions depend on
// which trial reports (Hyperband's brackets).
type trialScheduler interface {
	Scheduler
	ForTrial(trial int) Scheduler
	Bracket(trial int) int
}

// ForTrial returns the scheduler that decides for trial number n: its
// bracket's ASHA under Hyperband, s itself otherwise. Callers that know the
// trial ask ForTrial(s, n).Rung(epoch) for its decision points.
func ForTrial(s Scheduler, trial int) Scheduler {
	if ts, ok := s.(trialScheduler); ok {
		return ts.ForTrial(trial)
	}
	return s
}

// Decide reports whether trial, which reported value at epoch, goes on,
// given reported, the values every trial has reported at that epoch (its
// own included). Under Hyperband the trial is compared only with the
// trials of its own bracket.
func Decide(s Scheduler, trial, epoch int, value float64, reported []RungValue, dir Direction) bool {
	ts, ok := s.(trialScheduler)
	if !ok {
		peers := make([]float64, len(reported))
		for i, r := range reported {
			peers[i] = r.Value
		}
		return s.Continue(epoch, value, peers, dir)
	}
	b := ts.Bracket(trial)
	var peers []float64
	for _, r := range reported {
		if r.Trial == trial || ts.Bracket(r.Trial) == b {
			peers = append(peers, r.Value)
		}
	}
	return ts.ForTrial(trial).Continue(epoch, value, peers, dir)
}

// Peers reports whether trials a and b are compared with each other at a
// rung of s: always, except under Hyperband, whose brackets are apart.
func Peers(s Scheduler, a, b int) bool {
	ts, ok := s.(trialScheduler)
	return !ok || ts.Bracket(a) == ts.Bracket(b)
}

// TrialRungs returns the decision epochs of trial under s below epochs
// (the trial's last epoch, at which nothing is left to decide), in
// increasing order.
func TrialRungs(s Scheduler, trial, epochs int) []int {
	ts := ForTrial(s, trial)
	var out []int
	for e := 1; e < epochs; e++ {
		if ts.Rung(e) {
			out = append(out, e)
		}
	}
	return out
}
