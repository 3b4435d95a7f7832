package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

func TestParseExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := s.SearchSpace(); err != nil {
			t.Fatalf("%s: space: %v", f, err)
		}
	}
}

const valid = `name: s1
dataset: spirals
model: {kind: mlp, hidden: [8]}
space:
  activation: {choice: [relu, leaky_relu]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {max_trials: 4}
schedule: {max_epochs: 3}
`

func TestParseDefaultsAndJSON(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if s.Objective.Metric != "val_accuracy" || s.Objective.Direction != "maximize" || s.Search.Algorithm != "random" ||
		s.Search.Parallelism != 1 || s.Search.Replicates != 1 || s.Optimizer.Kind != "adam" || s.Schedule.Kind != "none" {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if tc, err := s.TrialConfig(search.Config{}, 1); err != nil || tc.Threads != 1 {
		t.Fatalf("trial threads without a threads field: %d, %v; want 1", tc.Threads, err)
	}
	if strings.Contains(string(s.Canonical()), "threads") {
		t.Fatalf("canonical form names threads though the spec does not set it:\n%s", s.Canonical())
	}
	// The canonical JSON form parses back to the same spec.
	s2, err := Parse(s.Canonical())
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, s.Canonical())
	}
	if s.Hash() != s2.Hash() {
		t.Fatalf("hash changed across a JSON round trip")
	}
}

func TestThreads(t *testing.T) {
	s, err := Parse([]byte(valid + "threads: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := s.TrialConfig(search.Config{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Threads != 4 {
		t.Fatalf("trial config threads %d, want 4", tc.Threads)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", valid + "extra: 1\n", "extra (line 10): unknown field (allowed: dataset, enqueue, keep_models, model, name, objective, objectives, optimizer, schedule, search, space, threads)"},
		{"keep_models negative", valid + "keep_models: -1\n", "keep_models: -1 must be in [0, 1000]"},
		{"keep_models too many", valid + "keep_models: 1001\n", "keep_models: 1001 must be in [0, 1000]"},
		{"unknown nested field", strings.Replace(valid, "hidden: [8]", "hidden: [8], depth: 2", 1), "model.depth (line 3): unknown field (allowed: batch_norm, conv, dropout, hidden, kind, normalize, swish_beta)"},
		{"bad name", strings.Replace(valid, "name: s1", "name: Bad.Name", 1), `name: "Bad.Name" must match`},
		{"log low zero", strings.Replace(valid, "[1.0e-3, 1.0e-1]", "[0, 1.0e-1]", 1), "space.learning_rate.log_uniform: 0 must be in (0, 10]"},
		{"low above high", strings.Replace(valid, "[1.0e-3, 1.0e-1]", "[0.5, 1.0e-1]", 1), "space.learning_rate.log_uniform: [0.5, 0.1] must have low <= high"},
		{"unknown activation", strings.Replace(valid, "[relu, leaky_relu]", "[relu, leaky_relu, mish]", 1), "space.activation.choice[2]: mish is not allowed (allowed: relu"},
		{"unknown parameter", strings.Replace(valid, "space:\n", "space:\n  label_smoothing: {uniform: [0, 1]}\n", 1), "space.label_smoothing: is not a parameter (allowed: activation, batch_norm, batch_size"},
		{"parallelism", strings.Replace(valid, "{max_trials: 4}", "{max_trials: 4, parallelism: -1}", 1), "search.parallelism: -1 must be in [1, 1024]"},
		{"threads high", valid + "threads: 65\n", "threads: 65 must be in [1, 64] (threads per trial)"},
		{"threads negative", valid + "threads: -2\n", "threads: -2 must be in [1, 64] (threads per trial)"},
		{"threads type", valid + "threads: all\n", "threads (line 10): cannot unmarshal !!str `all` into int"},
		{"max trials", strings.Replace(valid, "{max_trials: 4}", "{max_trials: 0}", 1), "search.max_trials: 0 must be in [1, 100000]"},
		{"algorithm", strings.Replace(valid, "{max_trials: 4}", "{max_trials: 4, algorithm: hyperband}", 1), `search.algorithm: "hyperband" is not an algorithm`},
		{"wrong type", strings.Replace(valid, "{max_trials: 4}", "{max_trials: many}", 1), "search.max_trials (line 8): cannot unmarshal !!str `many` into int"},
		{"hidden size", strings.Replace(valid, "hidden: [8]", "hidden: [8, 0]", 1), "model.hidden[1]: 0 must be in [1, 8192]"},
		{"dataset", strings.Replace(valid, "dataset: spirals", "dataset: imagenet", 1), `dataset: "imagenet" is not a dataset`},
		{"condition on missing choice", strings.Replace(valid, "when: {activation: leaky_relu}", "when: {activation: elu}", 1), "space.negative_slope.when.activation: elu is not one of its choices"},
		{"two distributions", strings.Replace(valid, "{log_uniform: [1.0e-3, 1.0e-1]}", "{log_uniform: [1.0e-3, 1.0e-1], uniform: [0.1, 0.2]}", 1), "space.learning_rate: must set exactly one of"},
		{"epochs", strings.Replace(valid, "{max_epochs: 3}", "{max_epochs: 0}", 1), "schedule.max_epochs: 0 must be in [1, 1000]"},
		{"not yaml", "name: [", "did not find expected node content"},
		{"cnn on points", strings.Replace(valid, "kind: mlp", "kind: cnn", 1), `model.kind: "cnn" needs an image dataset`},
		{"conv on mlp", strings.Replace(valid, "hidden: [8]", "hidden: [8], conv: [4]", 1), "model.conv: [4] is only allowed for model.kind cnn"},
		{"unknown model", strings.Replace(valid, "kind: mlp", "kind: rnn", 1), `model.kind: "rnn" is not a model (allowed: mlp, cnn)`},
		{"unknown scheduler", strings.Replace(valid, "{max_epochs: 3}", "{max_epochs: 3, kind: bohb}", 1), `schedule.kind: "bohb" is not a scheduler (allowed: none, asha, median, hyperband, pbt)`},
		{"csv path out of the root", strings.Replace(valid, "dataset: spirals", "dataset: csv:../secret.csv", 1), `dataset: "csv:../secret.csv" path "../secret.csv" leads out of the data root`},
		{"idx with one path", strings.Replace(valid, "dataset: spirals", `dataset: "idx:images,"`, 1), `dataset: "idx:images," needs two paths`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTrialConfig(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	c := search.Config{"activation": search.Str("leaky_relu"), "negative_slope": search.Num(0.05), "learning_rate": search.Num(0.01)}
	tc, err := s.TrialConfig(c, 42)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Activation != trainer.LeakyReLU || tc.NegativeSlope != 0.05 || tc.LearningRate != 0.01 ||
		tc.Seed != 42 || tc.Epochs != 3 || tc.Dataset != "spirals" || len(tc.Hidden) != 1 || tc.Hidden[0] != 8 {
		t.Fatalf("trainer config does not reflect spec and params: %+v", tc)
	}
	if _, err := s.TrialConfig(search.Config{"label_smoothing": search.Num(0.1)}, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown parameter: got %v, want ErrInvalid", err)
	}
}

// TestREADMESpecParses keeps the README's spec example valid.
func TestREADMESpecParses(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```yaml\n")
	if start < 0 {
		t.Fatal("README has no yaml block")
	}
	body := text[start+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	s, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("the README's spec does not parse: %v", err)
	}
	if s.Search.Algorithm != "tpe" || s.Schedule.Kind != "asha" {
		t.Fatalf("parsed %+v", s)
	}
}

// TestDatasetNamesAsTrainer checks that spec accepts exactly the data set
// names trainer accepts: one rule, in trainer.
func TestDatasetNamesAsTrainer(t *testing.T) {
	for _, name := range []string{"spirals", "moons", "circles", "mnist", "fashion-mnist", "csv:a.csv", "csv:/data/a.csv",
		"idx:i,l", "imagenet", "csv:", "csv:../a.csv", "idx:i", "idx:i,", "idx:,l", "idx:i,l,x", "idx:i,../l", "csv:a\x00b", "MNIST"} {
		_, err := Parse([]byte(strings.Replace(valid, "dataset: spirals", fmt.Sprintf("dataset: %q", name), 1)))
		specOK := err == nil
		trainerOK := trainer.ValidateDatasetName(name) == nil
		if specOK != trainerOK {
			t.Errorf("%q: spec accepts %v (%v), trainer accepts %v", name, specOK, err, trainerOK)
		}
	}
}

// TestKindsKeepTheirWireForm checks that the typed kinds marshal as the
// strings they were.
func TestKindsKeepTheirWireForm(t *testing.T) {
	s, err := Parse([]byte(strings.Replace(valid, "{max_epochs: 3}", "{max_epochs: 3, kind: asha}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.Kind != trainer.MLP || s.Schedule.Kind != search.SchedulerASHA {
		t.Fatalf("kinds %q, %q", s.Model.Kind, s.Schedule.Kind)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"model":{"kind":"mlp"`, `"schedule":{"kind":"asha"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != s.Hash() {
		t.Errorf("hash changed over a JSON round trip: %s, %s", back.Hash(), s.Hash())
	}
}

// TestKeepModels: keep_models parses, and a spec without it keeps the
// hash it had before the field existed.
func TestKeepModels(t *testing.T) {
	s, err := Parse([]byte(valid + "keep_models: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeepModels != 3 {
		t.Fatalf("KeepModels = %d, want 3", s.KeepModels)
	}
	plain, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain.Canonical()), "keep_models") {
		t.Fatalf("canonical form of a spec without keep_models names it: %s", plain.Canonical())
	}
	if plain.Hash() == s.Hash() {
		t.Fatal("keep_models does not change the spec's hash")
	}
}
