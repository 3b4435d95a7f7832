package search

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestASHARungs(t *testing.T) {
	tests := []struct {
		spec SchedulerSpec
		want []int
	}{
		// 1, 3, 9 < 20; 27 is past the budget.
		{SchedulerSpec{Kind: "asha", MinEpochs: 1, MaxEpochs: 20, Reduction: 3}, []int{1, 3, 9}},
		// 2, 4, 8 < 16; 16 itself is the full budget, not a rung.
		{SchedulerSpec{Kind: "asha", MinEpochs: 2, MaxEpochs: 16, Reduction: 2}, []int{2, 4, 8}},
		// Defaults: min 1, reduction 3: 1, 3, 9, 27 < 81.
		{SchedulerSpec{Kind: "asha", MaxEpochs: 81}, []int{1, 3, 9, 27}},
		// min == max: no rung.
		{SchedulerSpec{Kind: "asha", MinEpochs: 5, MaxEpochs: 5}, nil},
	}
	for _, tt := range tests {
		s, err := NewScheduler(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for e := 1; e <= tt.spec.MaxEpochs+5; e++ {
			if s.Rung(e) {
				got = append(got, e)
			}
		}
		if !equalInts(got, tt.want) {
			t.Errorf("%+v: rungs %v, want %v", tt.spec, got, tt.want)
		}
		if r := s.(ASHA).Rungs(); !equalInts(r, tt.want) {
			t.Errorf("%+v: Rungs() = %v, want %v", tt.spec, r, tt.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// continueCase is one Continue decision at a fixed epoch.
type continueCase struct {
	name  string
	value float64
	peers []float64
	dir   Direction
	want  bool
}

func checkContinue(t *testing.T, s Scheduler, epoch int, tests []continueCase) {
	t.Helper()
	for _, tt := range tests {
		if got := s.Continue(epoch, tt.value, tt.peers, tt.dir); got != tt.want {
			t.Errorf("%s: Continue(%v, %v) = %v, want %v", tt.name, tt.value, tt.peers, got, tt.want)
		}
	}
}

func TestASHAContinue(t *testing.T) {
	asha := ASHA{MinEpochs: 1, MaxEpochs: 27, Reduction: 3}
	tests := []continueCase{
		{"alone at the rung", 0.1, []float64{0.1}, Maximize, true},
		// 2 values: k = max(2/3, 1) = 1, so only the best continues.
		{"second of two, worse", 0.5, []float64{0.9, 0.5}, Maximize, false},
		{"second of two, better", 0.95, []float64{0.9, 0.95}, Maximize, true},
		// 6 values: k = 2. 0.8 has one better (0.9): continues.
		{"second of six", 0.8, []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, Maximize, true},
		// 0.7 has two better: stops.
		{"third of six", 0.7, []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, Maximize, false},
		// Minimising a loss: 0.4 is the best of six.
		{"minimize best", 0.4, []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, Minimize, true},
		{"minimize third", 0.6, []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, Minimize, false},
		// Ties with the k-th value continue: 9 values, k = 3, 0.7 tied third.
		{"tie at the cut", 0.7, []float64{0.9, 0.8, 0.7, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1}, Maximize, true},
		{"NaN value stops", math.NaN(), []float64{0.1, math.NaN()}, Maximize, false},
		{"NaN peers ignored", 0.5, []float64{math.NaN(), math.NaN(), 0.5}, Maximize, true},
	}
	checkContinue(t, asha, 3, tests)
}

// TestASHAArrivalSequence feeds one rung nine trials in arrival order,
// maximising. Hand count with k = max(floor(n/3), 1):
//
//	n=1 5: k=1, 0 better: continue     n=6 3: k=2, 3 better (5 8 9): stop
//	n=2 2: k=1, 1 better: stop         n=7 7: k=2, 2 better (8 9): stop
//	n=3 8: k=1, 0 better: continue     n=8 4: k=2, 4 better: stop
//	n=4 1: k=1, 3 better: stop         n=9 6: k=3, 3 better (7 8 9): stop
//	n=5 9: k=1, 0 better: continue
//
// so 5, 8 and 9 go on: a third, as synchronous halving would keep.
func TestASHAArrivalSequence(t *testing.T) {
	asha := ASHA{MinEpochs: 1, MaxEpochs: 27, Reduction: 3}
	var peers, kept []float64
	for _, v := range []float64{5, 2, 8, 1, 9, 3, 7, 4, 6} {
		peers = append(peers, v)
		if asha.Continue(1, v, peers, Maximize) {
			kept = append(kept, v)
		}
	}
	if want := []float64{5, 8, 9}; len(kept) != 3 || kept[0] != want[0] || kept[1] != want[1] || kept[2] != want[2] {
		t.Fatalf("kept %v, want %v", kept, want)
	}
}

func TestMedianRule(t *testing.T) {
	m, err := NewScheduler(SchedulerSpec{Kind: "median", WarmupEpochs: 2, MinTrials: 3, MaxEpochs: 10})
	if err != nil {
		t.Fatal(err)
	}
	for e, want := range map[int]bool{1: false, 2: false, 3: true, 9: true, 10: false} {
		if got := m.Rung(e); got != want {
			t.Errorf("Rung(%d) = %v, want %v", e, got, want)
		}
	}
	tests := []continueCase{
		{"too few values", 0.1, []float64{0.9, 0.1}, Maximize, true},
		// Median of 0.9 0.5 0.1 is 0.5; 0.1 is worse.
		{"below median", 0.1, []float64{0.9, 0.5, 0.1}, Maximize, false},
		{"at median", 0.5, []float64{0.9, 0.5, 0.1}, Maximize, true},
		// Even count: median of 0.2 0.4 0.6 0.8 is 0.5.
		{"even count above", 0.6, []float64{0.2, 0.4, 0.6, 0.8}, Maximize, true},
		{"even count below", 0.4, []float64{0.2, 0.4, 0.6, 0.8}, Maximize, false},
		{"minimize below median loss", 0.4, []float64{0.2, 0.4, 0.6, 0.8}, Minimize, true},
		{"minimize above median loss", 0.6, []float64{0.2, 0.4, 0.6, 0.8}, Minimize, false},
		{"NaN stops", math.NaN(), []float64{0.2, 0.4, 0.6}, Maximize, false},
	}
	checkContinue(t, m, 5, tests)
}

func TestNoneScheduler(t *testing.T) {
	for _, kind := range []ScheduleKind{"", SchedulerNone} {
		s, err := NewScheduler(SchedulerSpec{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		for e := 1; e < 100; e++ {
			if s.Rung(e) {
				t.Fatalf("%q: epoch %d is a rung", kind, e)
			}
		}
		if !s.Continue(1, 0, []float64{1, 1, 1}, Maximize) {
			t.Fatalf("%q stops a trial", kind)
		}
	}
}

func TestNewSchedulerRejects(t *testing.T) {
	tests := []struct {
		spec  SchedulerSpec
		field string
	}{
		{SchedulerSpec{Kind: "bohb"}, "kind"},
		{SchedulerSpec{Kind: "asha"}, "max_epochs"},
		{SchedulerSpec{Kind: "hyperband"}, "max_epochs"},
		{SchedulerSpec{Kind: "hyperband", MaxEpochs: 9, Reduction: 3, Brackets: 4}, "brackets"},
		{SchedulerSpec{Kind: "hyperband", MaxEpochs: 9, Brackets: -1}, "brackets"},
		{SchedulerSpec{Kind: "asha", MaxEpochs: 9, Brackets: 2}, "brackets"},
		{SchedulerSpec{Kind: "asha", MaxEpochs: 10, Reduction: 1}, "reduction"},
		{SchedulerSpec{Kind: "asha", MaxEpochs: 10, MinEpochs: 11}, "min_epochs"},
		{SchedulerSpec{Kind: "asha", MaxEpochs: 10, MinEpochs: -1}, "min_epochs"},
		{SchedulerSpec{Kind: "median", MinTrials: -2}, "min_trials"},
		{SchedulerSpec{Kind: "median", WarmupEpochs: 10, MaxEpochs: 10}, "warmup_epochs"},
	}
	for _, tt := range tests {
		_, err := NewScheduler(tt.spec)
		if !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("%+v: got %v, want ErrInvalidSchedule", tt.spec, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: error %q does not name %s", tt.spec, err, tt.field)
		}
	}
}

func TestParseScheduleKind(t *testing.T) {
	for _, k := range SchedulerKinds() {
		got, err := ParseScheduleKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseScheduleKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, bad := range []string{"", "bohb", "ASHA", "none "} {
		_, err := ParseScheduleKind(bad)
		if !errors.Is(err, ErrInvalidSchedule) || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) || !strings.Contains(err.Error(), "none asha median hyperband") {
			t.Errorf("ParseScheduleKind(%q): %v; want an error naming the value and the allowed kinds", bad, err)
		}
	}
}
