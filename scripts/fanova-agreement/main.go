// Command fanova-agreement compares relutune's fANOVA (internal/importance)
// with Optuna's FanovaImportanceEvaluator on the same trials, and prints
// the Spearman rank correlation of the two importance rankings per case.
//
// The trials are simulated studies over relutune's usual space (activation,
// learning rate, batch size, initialiser, weight decay, momentum): each
// objective is an accuracy-like function of the parameters plus noise. The
// space has no conditional parameters, because Optuna's evaluator keeps
// only the parameters every trial sets.
//
//	go run ./scripts/fanova-agreement            # needs /usr/bin/python3 with python3-optuna, python3-sklearn
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/relutune/relutune/internal/importance"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

type jsonParam struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Low     float64  `json:"low"`
	High    float64  `json:"high"`
	Choices []string `json:"choices,omitempty"`
}

type jsonTrial struct {
	Params map[string]any `json:"params"`
	Value  float64        `json:"value"`
}

var (
	acts  = []string{"relu", "leaky_relu", "elu", "swish", "tanh"}
	inits = []string{"he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "lecun_normal"}
	bss   = []string{"32", "64", "128", "256"}
)

var params = []jsonParam{
	{Name: "activation", Kind: "choice", Choices: acts},
	{Name: "learning_rate", Kind: "log_float", Low: 1e-4, High: 1e-1},
	{Name: "batch_size", Kind: "choice", Choices: bss},
	{Name: "init", Kind: "choice", Choices: inits},
	{Name: "weight_decay", Kind: "float", Low: 0, High: 1e-3},
	{Name: "momentum", Kind: "float", Low: 0.5, High: 0.99},
}

// objectives are simulated studies: name and accuracy as a function of
// the parameters.
var objectives = []struct {
	name string
	f    func(p map[string]any) float64
}{
	{"lr-dominant", func(p map[string]any) float64 {
		lr := math.Log10(p["learning_rate"].(float64))
		a := map[string]float64{"relu": 0.02, "leaky_relu": 0.025, "elu": 0.02, "swish": 0.03, "tanh": 0}[p["activation"].(string)]
		return 0.95 - 0.04*(lr+2.5)*(lr+2.5) + a + 0.005*float64(indexOf(bss, p["batch_size"].(string)))
	}},
	{"activation-dominant", func(p map[string]any) float64 {
		lr := math.Log10(p["learning_rate"].(float64))
		a := map[string]float64{"relu": 0.08, "leaky_relu": 0.09, "elu": 0.07, "swish": 0.1, "tanh": 0}[p["activation"].(string)]
		return 0.85 + a - 0.005*(lr+2.5)*(lr+2.5) + 20*p["weight_decay"].(float64)
	}},
	{"interaction", func(p map[string]any) float64 {
		lr := math.Log10(p["learning_rate"].(float64))
		act := p["activation"].(string)
		bonus := 0.0
		if act == "tanh" && lr > -2 {
			bonus = -0.15 // saturating units at a high learning rate
		}
		i := map[string]float64{"he_normal": 0.02, "he_uniform": 0.02, "xavier_normal": 0.01, "xavier_uniform": 0.01, "lecun_normal": 0}[p["init"].(string)]
		return 0.9 + bonus + i - 0.02*(lr+2.5)*(lr+2.5) + 0.03*(p["momentum"].(float64)-0.5)
	}},
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func main() {
	python := flag.String("python", "/usr/bin/python3", "Python with optuna and scikit-learn")
	trialsFlag := flag.Int("trials", 200, "trials per simulated study")
	seeds := flag.Int("seeds", 5, "studies per objective")
	noise := flag.Float64("noise", 0.01, "standard deviation of the objective's noise")
	trained := flag.Int("trained", 80, "trials of the study trained for real on two spirals (0: none)")
	flag.Parse()
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "optuna_fanova.py")

	space := toSpace()
	var all, allLin []float64
	fmt.Printf("%-20s %4s %5s %8s %8s  %s\n", "objective", "seed", "n", "spearman", "linear", "top-3 relutune | optuna")
	for _, obj := range objectives {
		var sum, sumLin float64
		for seed := range *seeds {
			rng := rand.New(rand.NewPCG(uint64(seed), 42))
			var jt []jsonTrial
			var it []importance.Trial
			for range *trialsFlag {
				p := map[string]any{
					"activation":    acts[rng.IntN(len(acts))],
					"learning_rate": math.Pow(10, -4+3*rng.Float64()),
					"batch_size":    bss[rng.IntN(len(bss))],
					"init":          inits[rng.IntN(len(inits))],
					"weight_decay":  1e-3 * rng.Float64(),
					"momentum":      0.5 + 0.49*rng.Float64(),
				}
				v := obj.f(p) + *noise*rng.NormFloat64()
				jt = append(jt, jsonTrial{Params: p, Value: v})
				c := search.Config{}
				for k, x := range p {
					switch x := x.(type) {
					case string:
						c[k] = search.Str(x)
					case float64:
						c[k] = search.Num(x)
					}
				}
				it = append(it, importance.Trial{Config: c, Value: v})
			}
			theirs, err := runOptuna(*python, script, jt, seed)
			if err != nil {
				log.Fatal(err)
			}
			rho, ours := compare(space, it, theirs, seed, false)
			rhoLin, _ := compare(space, it, theirs, seed, true)
			sum += rho
			sumLin += rhoLin
			all = append(all, rho)
			allLin = append(allLin, rhoLin)
			fmt.Printf("%-20s %4d %5d %8.3f %8.3f  %v | %v\n", obj.name, seed, len(it), rho, rhoLin, top(ours), topMap(theirs))
		}
		fmt.Printf("%-20s mean spearman %.3f (Optuna's linear measure: %.3f)\n", obj.name, sum/float64(*seeds), sumLin/float64(*seeds))
	}
	if *trained > 0 {
		rhos, rhosLin, err := trainedStudy(*python, script, space, *trained, *seeds)
		if err != nil {
			log.Fatal(err)
		}
		all = append(all, rhos...)
		allLin = append(allLin, rhosLin...)
	}
	summary := func(what string, rs []float64) {
		var mean float64
		for _, r := range rs {
			mean += r
		}
		sort.Float64s(rs)
		fmt.Printf("overall, %s: %d comparisons, mean spearman %.3f, min %.3f, median %.3f\n", what, len(rs), mean/float64(len(rs)), rs[0], rs[len(rs)/2])
	}
	summary("log-uniform parameters on the log scale (relutune's default)", all)
	summary("on their own scale (Optuna's measure)", allLin)
}

func toSpace() *search.Space {
	var ps []search.Param
	for _, p := range params {
		switch p.Kind {
		case "choice":
			var cs []search.Value
			for _, c := range p.Choices {
				cs = append(cs, search.Str(c))
			}
			ps = append(ps, search.Param{Name: p.Name, Kind: search.Categorical, Choices: cs})
		case "log_float":
			ps = append(ps, search.Param{Name: p.Name, Kind: search.LogFloat, Low: p.Low, High: p.High})
		default:
			ps = append(ps, search.Param{Name: p.Name, Kind: search.Float, Low: p.Low, High: p.High})
		}
	}
	s, err := search.NewSpace(ps)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

func runOptuna(python, script string, trials []jsonTrial, seed int) (map[string]float64, error) {
	in, err := json.Marshal(map[string]any{"params": params, "trials": trials, "seed": seed})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", python, script, err)
	}
	var m map[string]float64
	return m, json.Unmarshal(out, &m)
}

func top(imps []importance.Importance) []string {
	var out []string
	for _, i := range imps[:3] {
		out = append(out, fmt.Sprintf("%s=%.2f", i.Param, i.Importance))
	}
	return out
}

func topMap(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] })
	var out []string
	for _, k := range ks[:3] {
		out = append(out, fmt.Sprintf("%s=%.2f", k, m[k]))
	}
	return out
}

// trainedStudy trains n random configurations of the space for real (an
// MLP on two spirals, 6 epochs, the final validation accuracy as the
// objective; momentum is the optimizer's, weight decay the trainer's) and
// compares the two evaluators on those trials with forests of seeds
// different seeds.
func trainedStudy(python, script string, space *search.Space, n, seeds int) (rhos, rhosLin []float64, err error) {
	ds, err := trainer.LoadDataset("spirals", 1)
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(99, 1))
	var jt []jsonTrial
	var it []importance.Trial
	for i := range n {
		p := map[string]any{
			"activation":    acts[rng.IntN(len(acts))],
			"learning_rate": math.Pow(10, -4+3*rng.Float64()),
			"batch_size":    bss[rng.IntN(len(bss))],
			"init":          inits[rng.IntN(len(inits))],
			"weight_decay":  1e-3 * rng.Float64(),
			"momentum":      0.5 + 0.49*rng.Float64(),
		}
		var bs int
		fmt.Sscan(p["batch_size"].(string), &bs)
		cfg := trainer.Config{
			Dataset: "spirals", Hidden: []int{16, 16}, Activation: trainer.Activation(p["activation"].(string)),
			Init: trainer.Init(p["init"].(string)), Optimizer: "momentum", LearningRate: p["learning_rate"].(float64),
			Momentum: p["momentum"].(float64), WeightDecay: p["weight_decay"].(float64), BatchSize: bs, Epochs: 6, Seed: uint64(i),
		}
		res, err := trainer.Train(context.Background(), cfg, ds, trainer.Options{})
		if err != nil {
			continue // diverged: no objective, as in a study
		}
		v := res.Final.ValAccuracy
		jt = append(jt, jsonTrial{Params: p, Value: v})
		c := search.Config{}
		for k, x := range p {
			switch x := x.(type) {
			case string:
				c[k] = search.Str(x)
			case float64:
				c[k] = search.Num(x)
			}
		}
		it = append(it, importance.Trial{Config: c, Value: v})
	}
	var sum, sumLin float64
	for seed := range seeds {
		theirs, err := runOptuna(python, script, jt, seed)
		if err != nil {
			return nil, nil, err
		}
		rho, ours := compare(space, it, theirs, seed, false)
		rhoLin, _ := compare(space, it, theirs, seed, true)
		rhos, rhosLin = append(rhos, rho), append(rhosLin, rhoLin)
		sum, sumLin = sum+rho, sumLin+rhoLin
		fmt.Printf("%-20s %4d %5d %8.3f %8.3f  %v | %v\n", "trained-spirals", seed, len(it), rho, rhoLin, top(ours), topMap(theirs))
	}
	fmt.Printf("%-20s mean spearman %.3f (Optuna's linear measure: %.3f)\n", "trained-spirals", sum/float64(seeds), sumLin/float64(seeds))
	return rhos, rhosLin, nil
}

// compare evaluates the trials with relutune's fANOVA (on Optuna's linear
// measure when linear) and returns the Spearman correlation with Optuna's
// importances.
func compare(space *search.Space, trials []importance.Trial, theirs map[string]float64, seed int, linear bool) (float64, []importance.Importance) {
	ours, err := importance.Evaluate(space, trials, importance.Options{Seed: uint64(seed), LinearLog: linear})
	if err != nil {
		log.Fatal(err)
	}
	var a, b []float64
	for _, imp := range ours {
		a = append(a, imp.Importance)
		b = append(b, theirs[imp.Param])
	}
	return importance.Spearman(a, b), ours
}
