package search

import (
	"math"
	"reflect"
	"slices"
	"testing"
)

func TestHyperbandBrackets(t *testing.T) {
	s, err := NewScheduler(SchedulerSpec{Kind: SchedulerHyperband, MinEpochs: 1, MaxEpochs: 27, Reduction: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := s.(Hyperband)
	if h.Brackets != 4 {
		t.Fatalf("%d brackets, want 4 (first rungs 1, 3, 9 and 27)", h.Brackets)
	}
	wantRungs := [][]int{{1, 3, 9}, {3, 9}, {9}, nil}
	for b, want := range wantRungs {
		if got := h.bracket(b).Rungs(); !slices.Equal(got, want) {
			t.Errorf("bracket %d rungs %v, want %v", b, got, want)
		}
	}
	// Shares: ceil(4 * 3^s / (s+1)) for s = 3, 2, 1, 0: 27, 12, 6, 4.
	counts := make([]int, 4)
	const n = 49000
	for trial := range n {
		counts[h.Bracket(trial)]++
	}
	for b, share := range []float64{27, 12, 6, 4} {
		want := n * share / 49
		if math.Abs(float64(counts[b])-want) > 0.05*want {
			t.Errorf("bracket %d has %d of %d trials, want about %.0f", b, counts[b], n, want)
		}
	}
	// ForTrial is the trial's bracket, and its rungs decide.
	for trial := range 50 {
		a := ForTrial(h, trial).(ASHA)
		if want := h.bracket(h.Bracket(trial)); a != want {
			t.Fatalf("ForTrial(%d) = %+v, want %+v", trial, a, want)
		}
		if a.MinEpochs == 27 && slices.ContainsFunc([]int{1, 3, 9, 27}, a.Rung) {
			t.Fatalf("trial %d in the last bracket has a rung", trial)
		}
	}
	// Pinned: a running study's trials must keep their brackets across
	// versions, so the assignment may not change.
	h9 := Hyperband{MinEpochs: 1, MaxEpochs: 9, Reduction: 3}.norm()
	var got []int
	for trial := range 12 {
		got = append(got, h9.Bracket(trial))
	}
	if want := []int{1, 1, 2, 0, 1, 1, 2, 0, 1, 1, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("brackets of trials 0-11 (max_epochs 9): %v, want %v", got, want)
	}
	if ForTrial(ASHA{MaxEpochs: 9}, 3) != (ASHA{MaxEpochs: 9}) {
		t.Fatal("ForTrial of a scheduler without brackets is not the scheduler")
	}
}

func TestHyperbandDecidesWithinBrackets(t *testing.T) {
	h := Hyperband{MinEpochs: 1, MaxEpochs: 9, Reduction: 3}.norm()
	// Two trials of bracket 0 and several much better ones of bracket 1
	// at epoch 3: bracket 0's trials compare among themselves only.
	var b0, b1 []int
	for trial := 0; len(b0) < 2 || len(b1) < 4; trial++ {
		switch h.Bracket(trial) {
		case 0:
			b0 = append(b0, trial)
		case 1:
			b1 = append(b1, trial)
		}
	}
	var reported []RungValue
	for _, tr := range b1 {
		reported = append(reported, RungValue{Trial: tr, Value: 0.9})
	}
	reported = append(reported, RungValue{Trial: b0[0], Value: 0.5}, RungValue{Trial: b0[1], Value: 0.6})
	if !Decide(h, b0[1], 3, 0.6, reported, Maximize) {
		t.Error("the best trial of bracket 0 was stopped by bracket 1's values")
	}
	if Decide(h, b0[0], 3, 0.5, reported, Maximize) {
		t.Error("the worse of two bracket-0 trials went on")
	}
	// Without brackets the same values stop the better bracket-0 trial too.
	if Decide(ASHA{MinEpochs: 1, MaxEpochs: 9, Reduction: 3}, b0[1], 3, 0.6, reported, Maximize) {
		t.Error("ASHA over all six values let the fifth go on")
	}
}

func TestPeersAndTrialRungs(t *testing.T) {
	h, err := NewScheduler(SchedulerSpec{Kind: SchedulerHyperband, MinEpochs: 1, MaxEpochs: 9, Reduction: 3})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewScheduler(SchedulerSpec{Kind: SchedulerASHA, MinEpochs: 1, MaxEpochs: 9, Reduction: 3})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewScheduler(SchedulerSpec{Kind: SchedulerMedian, WarmupEpochs: 1})
	for i := 0; i < 40; i++ {
		if !Peers(a, 0, i) || !Peers(m, 0, i) {
			t.Fatalf("ASHA or median: trials 0 and %d not peers", i)
		}
		want := h.(Hyperband).Bracket(0) == h.(Hyperband).Bracket(i)
		if Peers(h, 0, i) != want {
			t.Fatalf("hyperband: Peers(0, %d) = %v, want %v (same bracket)", i, !want, want)
		}
	}
	for _, tc := range []struct {
		s      Scheduler
		trial  int
		epochs int
		want   []int
	}{
		{a, 0, 9, []int{1, 3}},
		{a, 0, 3, []int{1}},
		{m, 0, 4, []int{2, 3}},
		{None{}, 0, 9, nil},
	} {
		if got := TrialRungs(tc.s, tc.trial, tc.epochs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: TrialRungs(%d, %d) = %v, want %v", tc.s.Name(), tc.trial, tc.epochs, got, tc.want)
		}
	}
	for i := 0; i < 20; i++ {
		b := h.(Hyperband).Bracket(i)
		if got := TrialRungs(h, i, 9); len(got) != 2-b || (len(got) > 0 && got[0] != []int{1, 3}[b]) {
			t.Fatalf("hyperband trial %d (bracket %d): rungs %v", i, b, got)
		}
	}
}
