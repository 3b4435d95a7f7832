package spec

import (
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

const enqueueSpec = `name: enq
dataset: spirals
model: {hidden: [4]}
space:
  activation: {choice: [relu, leaky_relu, tanh]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {algorithm: tpe, max_trials: 10, parallelism: 2, seed: 3}
schedule: {max_epochs: 2}
`

func TestEnqueueIsCheckedAgainstTheSpace(t *testing.T) {
	ok := enqueueSpec + `enqueue:
  - {activation: relu, learning_rate: 0.01}
  - {activation: leaky_relu, negative_slope: 0.1, learning_rate: 0.003}
`
	s, err := Parse([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.EnqueuedConfigs()
	if err != nil || len(cs) != 2 || cs[1]["negative_slope"].Float() != 0.1 || cs[0]["activation"] != search.Str("relu") {
		t.Fatalf("configs %v, %v", cs, err)
	}
	plain, err := Parse([]byte(enqueueSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Hash() == plain.Hash() || strings.Contains(string(plain.Canonical()), "enqueue") {
		t.Error("enqueue must change the spec's hash, and a spec without it must not mention it")
	}
	for _, tc := range []struct{ enqueue, want string }{
		{"[{activation: relu, learning_rate: 0.5}]", "enqueue[0]"},
		{"[{activation: relu, learning_rate: 0.01, momentum: 0.9}]", "enqueue[0].momentum: 0.9 is not a parameter of the space"},
		{"[{activation: relu, negative_slope: 0.1, learning_rate: 0.01}]", "negative_slope: set although its condition does not hold"},
		{"[{activation: sigmoid, learning_rate: 0.01}]", "enqueue[0]"},
		{"[{activation: relu}]", "learning_rate: missing"},
	} {
		_, err := Parse([]byte(enqueueSpec + "enqueue: " + tc.enqueue + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("enqueue %s: %v, want an error with %q", tc.enqueue, err, tc.want)
		}
	}
}
