// Command benchsearch measures relutune's samplers on standard test
// functions: for every function and sampler it runs sequential studies of
// -trials trials from -seeds seeds and reports, at every budget of -at, the
// mean and median regret of the best trial found (its true value minus the
// function's minimum), the seeds on which the sampler beat random's study
// from the same seed, and the time per suggestion. scripts/optuna_bench.py
// runs the same functions with Optuna.
//
//	go run ./scripts/benchsearch -seeds 20 -trials 100 -at 50,100
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relutune/relutune/search"
)

func main() {
	seeds := flag.Int("seeds", 20, "studies per function and sampler")
	trials := flag.Int("trials", 100, "trials per study")
	at := flag.String("at", "50,100", "budgets to report, comma-separated, each <= -trials")
	samplers := flag.String("samplers", "random,sobol,tpe,tpe-mv,gp,cmaes", "samplers to run (tpe-mv: tpe with multivariate: true)")
	functions := flag.String("functions", "branin,hartmann6,conditional,noisy-mixed", "functions to run")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "studies run at once")
	flag.Parse()
	if err := run(*seeds, *trials, *at, *samplers, *functions, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "benchsearch:", err)
		os.Exit(1)
	}
}

// study is one finished run: the best true value after each trial, and the
// time its suggestions took.
type study struct {
	bestAfter []float64
	suggest   time.Duration
}

func run(seeds, trials int, at, samplerList, functionList string, workers int) error {
	var budgets []int
	for _, s := range strings.Split(at, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 || b > trials {
			return fmt.Errorf("-at: %q must be integers in [1, -trials=%d]", at, trials)
		}
		budgets = append(budgets, b)
	}
	names := strings.Split(samplerList, ",")
	if !slices.Contains(names, "random") {
		names = append([]string{"random"}, names...)
	}
	fmt.Printf("| function | trials | sampler | mean regret | median regret | beats random | ms/suggestion |\n")
	fmt.Printf("|---|---:|---|---:|---:|---:|---:|\n")
	for _, fname := range strings.Split(functionList, ",") {
		fn, ok := functions[fname]
		if !ok {
			return fmt.Errorf("-functions: unknown function %q", fname)
		}
		space, err := search.NewSpace(fn.Params)
		if err != nil {
			return err
		}
		results := map[string][]study{}
		for _, name := range names {
			s, err := newSampler(name)
			if err != nil {
				return err
			}
			res := make([]study, seeds)
			errs := make([]error, seeds)
			var wg sync.WaitGroup
			sem := make(chan struct{}, max(workers, 1))
			for i := range seeds {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					res[i], errs[i] = runStudy(s, space, fn, trials, uint64(i+1))
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return fmt.Errorf("%s on %s: %w", name, fname, err)
				}
			}
			results[name] = res
		}
		for _, b := range budgets {
			for _, name := range names {
				res := results[name]
				regrets := make([]float64, len(res))
				wins := 0
				var total time.Duration
				for i, r := range res {
					regrets[i] = r.bestAfter[b-1] - fn.Min
					if r.bestAfter[b-1] < results["random"][i].bestAfter[b-1] {
						wins++
					}
					total += r.suggest
				}
				win := fmt.Sprintf("%d/%d", wins, len(res))
				if name == "random" {
					win = "-"
				}
				ms := float64(total.Microseconds()) / 1e3 / float64(len(res)*trials)
				fmt.Printf("| %s | %d | %s | %.4g | %.4g | %s | %.2f |\n", fname, b, name, mean(regrets), median(regrets), win, ms)
			}
		}
	}
	return nil
}

func newSampler(name string) (search.Sampler, error) {
	if name == "tpe-mv" {
		return search.NewSampler("tpe", search.SamplerOptions{Multivariate: true})
	}
	return search.NewSampler(name, search.SamplerOptions{})
}

// runStudy runs trials sequential trials; the objective the sampler sees
// may be noisy, the regret uses the true value of the best observed trial.
func runStudy(s search.Sampler, space *search.Space, fn search.Function, trials int, seed uint64) (study, error) {
	var out study
	var history []search.Trial
	bestSeen, bestTrue := math.Inf(1), math.Inf(1)
	for len(history) < trials {
		start := time.Now()
		cs, err := search.Suggest(s, space, history, search.Minimize, 1, seed)
		out.suggest += time.Since(start)
		if err != nil {
			return out, fmt.Errorf("trial %d: %w", len(history), err)
		}
		c := cs[0]
		truth := fn.F(c)
		seen := truth
		if fn.Noise > 0 {
			seen += fn.Noise * normal(seed, uint64(len(history)))
		}
		if seen < bestSeen {
			bestSeen, bestTrue = seen, truth
		}
		history = append(history, search.Trial{Number: len(history), Config: c, State: search.Complete, Objective: &seen})
		out.bestAfter = append(out.bestAfter, bestTrue)
	}
	return out, nil
}

// normal is a standard normal draw fixed by (seed, n), so every sampler
// sees the same noise at the same trial.
func normal(seed, n uint64) float64 {
	u1 := (float64(mix(seed*1_000_003+n)>>11) + 0.5) / (1 << 53)
	u2 := (float64(mix(seed*1_000_033+n+7)>>11) + 0.5) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
