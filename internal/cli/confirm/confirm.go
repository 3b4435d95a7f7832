// Package confirm implements `tunectl confirm`: re-run a finished study's
// best configurations on fresh paired seeds, as new trials of the study,
// and say whether their ranking holds.
package confirm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/stats"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// Limits of the flags.
const (
	MaxTop   = 20
	MaxSeeds = 30
)

// Store is what confirm reads.
type Store interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	Trials(ctx context.Context, studyID int64) ([]store.Trial, error)
}

// Starter starts the study's workflow again; a client.Client is one.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Options are confirm's inputs.
type Options struct {
	IO           *cmdutil.IOStreams
	Store        func(context.Context) (Store, error)
	Temporal     func(context.Context) (Starter, error)
	StudiesQueue string
	TrialsQueue  string
	Study        string
	Top          int
	Seeds        int
	NoWait       bool
}

// NewCmdConfirm returns the confirm command; runF replaces the default
// action in tests.
func NewCmdConfirm(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO: f.IO,
		Store: func(ctx context.Context) (Store, error) {
			st, err := f.Store(ctx)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		Temporal: func(ctx context.Context) (Starter, error) {
			tc, err := f.Temporal(ctx)
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
		Top:   3,
		Seeds: 3,
	}
	cmd := &cobra.Command{
		Use:   "confirm <study>",
		Short: "Re-run a finished study's top configurations on fresh paired seeds and say whether their ranking holds",
		Long: `Re-run the K best configurations of a finished study (by mean objective over
their replicates) on N seeds none of its trials used, the same N seeds for
every configuration, as new trials of the study. When they are done, print
each configuration's mean on the new seeds with its 95% interval, and
whether the order of the K holds: for every pair whose order changed, the
paired difference over the new seeds and whether its 95% interval excludes
zero. The new trials count in the study's rankings (config_ranking,
tunectl top) like any other.`,
		Example: `  tunectl confirm quickstart --top 3 --seeds 5
  tunectl confirm quickstart --no-wait && tunectl watch quickstart`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			opts.StudiesQueue, opts.TrialsQueue = f.StudiesQueue, f.TrialsQueue
			if opts.Top < 1 || opts.Top > MaxTop {
				return fmt.Errorf("--top: %d must be in [1, %d]", opts.Top, MaxTop)
			}
			if opts.Seeds < 1 || opts.Seeds > MaxSeeds {
				return fmt.Errorf("--seeds: %d must be in [1, %d]", opts.Seeds, MaxSeeds)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runConfirm(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Top, "top", opts.Top, fmt.Sprintf("configurations to re-run, the best first (1 to %d)", MaxTop))
	cmd.Flags().IntVar(&opts.Seeds, "seeds", opts.Seeds, fmt.Sprintf("fresh seeds per configuration (1 to %d)", MaxSeeds))
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "start the trials and return; run confirm's report later with tunectl compare or top")
	return cmd
}

// Config is one of the configurations confirm re-runs.
type Config struct {
	Hash       string
	Activation string
	Params     search.Config
	Original   []float64 // objectives of its trials before confirm
}

// Plan is what confirm runs: the configurations, best first, the fresh
// seeds, and the trials to add.
type Plan struct {
	Configs []Config
	Seeds   []uint64
	Given   []workflows.GivenTrial
	// First is the number of the first new trial.
	First int
}

// NewPlan picks the top configurations of a finished study's trials and
// the seeds to run them on: replicate seeds of the study after every
// replicate index its trials used, so none was used before.
func NewPlan(sp *spec.Spec, trials []store.Trial, top, seeds int) (Plan, error) {
	by := map[string]*Config{}
	maxReplicate, next := -1, 0
	for _, t := range trials {
		maxReplicate = max(maxReplicate, t.Replicate)
		next = max(next, t.Number+1)
		if t.Status != search.Complete || t.Objective == nil {
			continue
		}
		c := by[t.ConfigHash]
		if c == nil {
			var p search.Config
			if err := json.Unmarshal(t.Params, &p); err != nil {
				return Plan{}, fmt.Errorf("trial %d: stored params: %w", t.Number, err)
			}
			c = &Config{Hash: t.ConfigHash, Params: p}
			if a, ok := p["activation"]; ok {
				c.Activation = a.String()
			}
			by[t.ConfigHash] = c
		}
		c.Original = append(c.Original, *t.Objective)
	}
	if len(by) == 0 {
		return Plan{}, errors.New("the study has no complete trial to confirm")
	}
	configs := make([]Config, 0, len(by))
	for _, c := range by {
		configs = append(configs, *c)
	}
	sign := 1.0
	if sp.Objective.Direction == search.Minimize {
		sign = -1
	}
	slices.SortFunc(configs, func(a, b Config) int {
		if c := cmp.Compare(sign*mean(b.Original), sign*mean(a.Original)); c != 0 {
			return c
		}
		return cmp.Compare(a.Hash, b.Hash)
	})
	configs = configs[:min(top, len(configs))]
	base := maxReplicate + 1
	fresh := search.ReplicateSeeds(sp.Search.Seed, base+seeds)[base:]
	p := Plan{Configs: configs, Seeds: fresh, First: next}
	for _, c := range configs {
		for i, s := range fresh {
			p.Given = append(p.Given, workflows.GivenTrial{Params: c.Params, Seed: s, Replicate: base + i})
		}
	}
	return p, nil
}

func mean(xs []float64) float64 { return stats.Summarize(xs).Mean }

func runConfirm(ctx context.Context, opts *Options) error {
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("study %s: %w", opts.Study, err)
	}
	if !study.Status.Final() {
		return fmt.Errorf("study %s is %s: confirm it once it has ended (tunectl watch %s)", opts.Study, study.Status, opts.Study)
	}
	sp, err := spec.Parse(study.Spec)
	if err != nil {
		return fmt.Errorf("study %s: stored spec: %w", opts.Study, err)
	}
	trials, err := st.Trials(ctx, study.ID)
	if err != nil {
		return err
	}
	plan, err := NewPlan(sp, trials, opts.Top, opts.Seeds)
	if err != nil {
		return fmt.Errorf("study %s: %w", opts.Study, err)
	}
	counts := map[search.State]int{}
	for _, t := range trials {
		if t.Status.Final() {
			counts[t.Status]++
		}
	}
	state := &workflows.StudyState{
		StudyID: study.ID, NextNumber: plan.First, Budget: plan.First + len(plan.Given), Counts: counts,
		Exhausted: true, StartedAt: time.Now().UnixNano(), Given: plan.Given,
	}
	tc, err := opts.Temporal(ctx)
	if err != nil {
		return err
	}
	id := workflows.StudyWorkflowID(opts.Study)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                opts.StudiesQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Memo:                     map[string]any{"spec_hash": sp.Hash()},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrStudy.ValueSet(opts.Study),
			workflows.AttrStatus.ValueSet(string(search.StudyRunning)),
		),
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: opts.TrialsQueue, State: state})
	if err != nil {
		return fmt.Errorf("start the confirmation of %s: %w", opts.Study, err)
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "confirming the top %d configurations of %s on %d fresh seeds: trials %d to %d (workflow %s, run %s)\n",
		len(plan.Configs), opts.Study, len(plan.Seeds), plan.First, plan.First+len(plan.Given)-1, id, run.GetRunID())
	if opts.NoWait {
		fmt.Fprintf(out, "follow it: tunectl watch %s\n", opts.Study)
		return nil
	}
	if err := run.Get(ctx, nil); err != nil {
		return fmt.Errorf("the confirmation of %s: %w", opts.Study, err)
	}
	trials, err = st.Trials(ctx, study.ID)
	if err != nil {
		return err
	}
	rep := Analyze(plan, trials, sp.Objective.Direction)
	return rep.Write(out)
}

// Row is one configuration in the report.
type Row struct {
	Rank      int // before confirm
	NewRank   int // by the mean on the new seeds
	Config    Config
	Confirmed stats.Summary // over the new seeds
}

// Swap is a pair of configurations whose order changed.
type Swap struct {
	Better, Worse string // by the original ranking
	// Diff is Worse - Better (in the objective's favourable direction),
	// paired by seed, over the new seeds both completed.
	Diff        stats.Summary
	Significant bool // the 95% interval of Diff lies above zero
}

// Report is confirm's verdict.
type Report struct {
	Rows  []Row
	Swaps []Swap
	Holds bool // no pair swapped significantly
}

// Analyze compares the plan's configurations on the new trials (numbered
// from plan.First).
func Analyze(plan Plan, trials []store.Trial, dir search.Direction) Report {
	sign := 1.0
	if dir == search.Minimize {
		sign = -1
	}
	bySeed := make([]map[int64]float64, len(plan.Configs))
	index := map[string]int{}
	for i, c := range plan.Configs {
		index[c.Hash] = i
		bySeed[i] = map[int64]float64{}
	}
	for _, t := range trials {
		i, ok := index[t.ConfigHash]
		if !ok || t.Number < plan.First || t.Status != search.Complete || t.Objective == nil {
			continue
		}
		bySeed[i][t.Seed] = *t.Objective
	}
	var rep Report
	for i, c := range plan.Configs {
		var xs []float64
		for _, s := range plan.Seeds {
			if v, ok := bySeed[i][int64(s)]; ok {
				xs = append(xs, v)
			}
		}
		rep.Rows = append(rep.Rows, Row{Rank: i + 1, Config: c, Confirmed: stats.Summarize(xs)})
	}
	order := make([]int, len(rep.Rows))
	for i := range order {
		order[i] = i
	}
	key := func(i int) float64 {
		m := rep.Rows[i].Confirmed.Mean
		if math.IsNaN(m) {
			return math.Inf(-1)
		}
		return sign * m
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(key(b), key(a)) })
	for r, i := range order {
		rep.Rows[i].NewRank = r + 1
	}
	rep.Holds = true
	for i := range rep.Rows {
		for j := i + 1; j < len(rep.Rows); j++ {
			if rep.Rows[j].NewRank > rep.Rows[i].NewRank {
				continue
			}
			var d []float64
			for _, s := range plan.Seeds {
				a, okA := bySeed[i][int64(s)]
				b, okB := bySeed[j][int64(s)]
				if okA && okB {
					d = append(d, sign*(b-a))
				}
			}
			sw := Swap{Better: label(rep.Rows[i]), Worse: label(rep.Rows[j]), Diff: stats.Summarize(d)}
			sw.Significant = sw.Diff.N >= 2 && sw.Diff.Low > 0
			if sw.Significant {
				rep.Holds = false
			}
			rep.Swaps = append(rep.Swaps, sw)
		}
	}
	return rep
}

func label(r Row) string {
	if r.Config.Activation != "" {
		return fmt.Sprintf("#%d %s", r.Rank, r.Config.Activation)
	}
	return fmt.Sprintf("#%d %.8s", r.Rank, r.Config.Hash)
}

// Write prints the report.
func (r Report) Write(w interface{ Write([]byte) (int, error) }) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tNEW RANK\tCONFIG\tORIGINAL MEAN (N)\tNEW MEAN (N)\tCI95 (NEW)")
	for _, row := range r.Rows {
		c := row.Confirmed
		ci := "-"
		if !math.IsNaN(c.Low) {
			ci = fmt.Sprintf("[%.4f, %.4f]", c.Low, c.High)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.4f (%d)\t%s (%d)\t%s\n", row.Rank, row.NewRank, label(row),
			mean(row.Config.Original), len(row.Config.Original), num(c.Mean), c.N, ci)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Swaps {
		verdict := "within noise"
		if s.Significant {
			verdict = "significant"
		}
		fmt.Fprintf(w, "swapped: %s now ahead of %s by %s on %d paired seeds, CI95 [%s, %s]: %s\n",
			s.Worse, s.Better, num(s.Diff.Mean), s.Diff.N, num(s.Diff.Low), num(s.Diff.High), verdict)
	}
	switch {
	case len(r.Swaps) == 0:
		fmt.Fprintln(w, "the ranking holds: same order on the new seeds")
	case r.Holds:
		fmt.Fprintln(w, "the ranking holds within noise: no swap is significant at 95%")
	default:
		fmt.Fprintln(w, "the ranking does not hold: a swap is significant at 95%")
	}
	return nil
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}
