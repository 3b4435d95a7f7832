package spec_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// genName draws a name from pieces that make collisions likely: "trial",
// digits and hyphens.
func genName(rng *rand.Rand) string {
	pieces := []string{"x", "a", "trial", "-", "-trial-", "3", "12", "0", "study", "-"}
	var b strings.Builder
	for n := 1 + rng.IntN(6); n > 0; n-- {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// TestWorkflowIDsAreDistinct: for any valid study names s and t and trial
// number n, the study's workflow id is never a trial's, and trial ids of
// different studies or numbers never meet (the ids are those of package
// workflows, unchanged: study-<name> and study-<name>-trial-<n>).
func TestWorkflowIDsAreDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var names []string
	for len(names) < 400 {
		if s := genName(rng); spec.ValidateName(s) == nil {
			names = append(names, s)
		}
	}
	trialOwner := map[string]string{}
	for _, s := range names {
		for _, tt := range names {
			for _, n := range []int{0, 1, 3, 12, rng.IntN(1 << 20)} {
				if workflows.StudyWorkflowID(s) == workflows.TrialWorkflowID(tt, n) {
					t.Fatalf("study %q has the workflow id of trial %d of study %q", s, n, tt)
				}
			}
		}
		for n := range 20 {
			id := workflows.TrialWorkflowID(s, n)
			owner := s + "#" + strconv.Itoa(n)
			if prev, ok := trialOwner[id]; ok && prev != owner {
				t.Fatalf("trial id %s belongs to %s and %s", id, prev, owner)
			}
			trialOwner[id] = owner
		}
	}
	// The names that would collide are exactly the ones refused.
	for _, tt := range names[:50] {
		for _, n := range []int{0, 3, 99} {
			s := strings.TrimPrefix(workflows.TrialWorkflowID(tt, n), "study-")
			if err := spec.ValidateName(s); err == nil {
				t.Fatalf("name %q is accepted but its study id is trial %d of %q", s, n, tt)
			}
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "x-trial", "trial-3", "x-trials-3", "x--trial3", "trial", strings.Repeat("a", 63)} {
		if err := spec.ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x-trial-3", "x-trial-", "a-trial-b", "-a", "A", "a.b", "a b", "a*", "a>", strings.Repeat("a", 64)} {
		if err := spec.ValidateName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
