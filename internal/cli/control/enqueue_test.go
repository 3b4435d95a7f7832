package control

import (
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

func TestReadConfigs(t *testing.T) {
	list, err := readConfigs(strings.NewReader("- {activation: relu, learning_rate: 0.01}\n- {activation: tanh, batch_size: 64}\n"), "-")
	if err != nil || len(list) != 2 || list[0]["learning_rate"] != search.Num(0.01) || list[1]["batch_size"] != search.Num(64) {
		t.Fatalf("list: %v, %v", list, err)
	}
	one, err := readConfigs(strings.NewReader(`{"activation": "elu", "learning_rate": 0.003}`), "-")
	if err != nil || len(one) != 1 || one[0]["activation"] != search.Str("elu") {
		t.Fatalf("one: %v, %v", one, err)
	}
	for _, bad := range []struct{ in, want string }{
		{"", "no configuration"},
		{"[]", "no configuration"},
		{"[{}]", "configuration 0 is empty"},
		{"{activation: [relu]}", "activation"},
		{"just text", "not a configuration"},
		{strings.Repeat("x", maxConfigBytes+1), "more than"},
	} {
		if _, err := readConfigs(strings.NewReader(bad.in), "-"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%.20q: %v, want an error with %q", bad.in, err, bad.want)
		}
	}
}
