package worker

import "testing"

// TestTrialThreads: a trial trains with the threads it asks for, at least
// one, and never more than the worker's per-trial share.
func TestTrialThreads(t *testing.T) {
	for _, tt := range []struct{ want, limit, got int }{
		{0, 0, 1}, {1, 0, 1}, {8, 0, 8},
		{4, 2, 2}, {2, 4, 2}, {0, 4, 1}, {64, 1, 1},
	} {
		if got := trialThreads(tt.want, tt.limit); got != tt.got {
			t.Errorf("trialThreads(%d, %d) = %d, want %d", tt.want, tt.limit, got, tt.got)
		}
	}
}
