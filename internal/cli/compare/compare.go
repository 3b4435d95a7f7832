// Package compare implements `tunectl compare`: activation against
// activation, with paired differences over replicate seeds.
package compare

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/stats"
	"github.com/relutune/relutune/internal/store"
)

// SeedMeansReader is what compare reads from the store.
type SeedMeansReader interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	ActivationSeedMeans(ctx context.Context, study string) ([]store.SeedMean, error)
}

// Options are compare's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (SeedMeansReader, error)
	Study   string
	Output  string
}

// NewCmdCompare returns the compare command.
func NewCmdCompare(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (SeedMeansReader, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}}
	cmd := &cobra.Command{
		Use:   "compare <study>",
		Short: "Compare activations pairwise: paired differences over replicate seeds with 95% CIs",
		Long: `Compare every pair of activations of a study. Trials with the same replicate
seed saw the same data order and initial random stream, so the comparison is
paired: for each seed, the activation's mean objective over its complete
trials with that seed; then the mean difference A - B over the seeds both have,
with a 95% Student t interval. A verdict is given only when the interval
excludes zero and rests on at least 3 seeds. Use search.replicates >= 3.`,
		Example: `  tunectl compare relu-variants-mnist
  tunectl compare relu-variants-mnist --output csv`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCompare(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, json, csv")
	return cmd
}

func runCompare(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return err
	}
	means, err := st.ActivationSeedMeans(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("seed means of study %s: %w", opts.Study, err)
	}
	return Table(Pairs(means, study.Direction == "maximize")).Render(opts.IO.Out, opts.Output)
}

// minPairsForVerdict is the fewest seeds a verdict rests on: with two,
// accuracies quantised to 1/n_val often give identical differences and a
// zero-width interval that claims more than the data show.
const minPairsForVerdict = 3

// Pair is the paired comparison of two activations.
type Pair struct {
	A       string   `json:"a"`
	B       string   `json:"b"`
	Pairs   int      `json:"pairs"`
	Diff    float64  `json:"mean_difference"` // mean over seeds of A - B
	Low     *float64 `json:"ci95_low"`
	High    *float64 `json:"ci95_high"`
	Verdict string   `json:"verdict"`
}

// Pairs compares every two activations, better mean first.
func Pairs(means []store.SeedMean, maximize bool) []Pair {
	by := map[string]map[int64]float64{}
	var acts []string
	for _, m := range means {
		if by[m.Activation] == nil {
			by[m.Activation] = map[int64]float64{}
			acts = append(acts, m.Activation)
		}
		by[m.Activation][m.Seed] = m.Mean
	}
	avg := func(a string) float64 { // summed in seed order: deterministic
		seeds := make([]int64, 0, len(by[a]))
		for s := range by[a] {
			seeds = append(seeds, s)
		}
		sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
		var s float64
		for _, seed := range seeds {
			s += by[a][seed]
		}
		return s / float64(len(seeds))
	}
	sort.Slice(acts, func(i, j int) bool {
		ai, aj := avg(acts[i]), avg(acts[j])
		if ai != aj {
			return (ai > aj) == maximize
		}
		return acts[i] < acts[j]
	})
	var out []Pair
	for i, a := range acts {
		for _, b := range acts[i+1:] {
			var seeds []int64
			for s := range by[a] {
				if _, ok := by[b][s]; ok {
					seeds = append(seeds, s)
				}
			}
			sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
			diffs := make([]float64, len(seeds))
			for k, s := range seeds {
				diffs[k] = by[a][s] - by[b][s]
			}
			sum := stats.Summarize(diffs)
			p := Pair{A: a, B: b, Pairs: sum.N, Diff: sum.Mean}
			switch {
			case sum.N == 0:
				p.Verdict = "no shared seeds"
			case math.IsNaN(sum.Low):
				p.Verdict = "need 2+ seeds for an interval"
			case sum.N < minPairsForVerdict:
				lo, hi := sum.Low, sum.High
				p.Low, p.High = &lo, &hi
				p.Verdict = fmt.Sprintf("need %d+ seeds for a verdict", minPairsForVerdict)
			default:
				lo, hi := sum.Low, sum.High
				p.Low, p.High = &lo, &hi
				better := func(x float64) bool { return (x > 0) == maximize }
				switch {
				case lo > 0 || hi < 0:
					if better(sum.Mean) {
						p.Verdict = a + " better"
					} else {
						p.Verdict = b + " better"
					}
				default:
					p.Verdict = "no significant difference"
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// Table renders pairs.
func Table(pairs []Pair) cmdutil.Table {
	t := cmdutil.Table{Header: []string{"A", "B", "SEEDS", "MEAN(A-B)", "CI95", "VERDICT"}, Records: pairs}
	if pairs == nil {
		t.Records = []Pair{}
	}
	for _, p := range pairs {
		ci := "-"
		if p.Low != nil {
			ci = fmt.Sprintf("[%+.4f, %+.4f]", *p.Low, *p.High)
		}
		diff := "-"
		if p.Pairs > 0 {
			diff = fmt.Sprintf("%+.4f", p.Diff)
		}
		t.Rows = append(t.Rows, []string{p.A, p.B, strconv.Itoa(p.Pairs), diff, ci, p.Verdict})
	}
	return t
}
