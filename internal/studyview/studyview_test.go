package studyview_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/internal/studyview/studytest"
	"github.com/relutune/relutune/internal/testdb"
)

// load reads the seeded study as the reader role and builds its view.
func load(t *testing.T) *studyview.Study {
	t.Helper()
	st, url := testdb.New(t)
	studytest.Seed(t, st, "view")
	ctx := context.Background()
	r, err := store.OpenReader(ctx, testdb.ReaderURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := studyview.Load(ctx, r, "view")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBuildFromStoredStudy(t *testing.T) {
	v := load(t)
	ov := v.Overview
	if ov.Trials != studytest.Trials || ov.Complete != 30 || ov.Diverged != 1 || ov.Failed != 1 || ov.Pending != 1 || ov.MaxTrials != 40 || ov.Best == nil {
		t.Errorf("overview = %+v", ov)
	}
	if len(v.History) != 30 {
		t.Fatalf("history has %d points, want 30", len(v.History))
	}
	for i := 1; i < len(v.History); i++ {
		if v.History[i].Best < v.History[i-1].Best || v.History[i].Best < v.History[i].Objective {
			t.Fatalf("best so far not monotone at %d: %+v", i, v.History[i-1:i+1])
		}
	}
	if got := float64(v.History[len(v.History)-1].Best); got != *ov.Best {
		t.Errorf("final best %v, overview best %v", got, *ov.Best)
	}
	c := v.Curves["val_accuracy"]
	if len(c.Trials) != 32 || len(c.Mean) != 5 {
		t.Fatalf("val_accuracy curves: %d trials, %d means; want 32 and 5", len(c.Trials), len(c.Mean))
	}
	for _, b := range c.Mean {
		for i := range b.Epochs {
			if b.N[i] >= 2 && !(b.Low[i] <= b.Mean[i] && b.Mean[i] <= b.High[i]) {
				t.Errorf("%s epoch %d: band %v..%v does not hold mean %v", b.Activation, b.Epochs[i], b.Low[i], b.High[i], b.Mean[i])
			}
		}
	}
	if len(v.Parallel.Rows) != 30 || len(v.Parallel.Axes) != 7 {
		t.Errorf("parallel: %d rows, %d axes; want 30 and 7", len(v.Parallel.Rows), len(v.Parallel.Axes))
	}
	// The fixture's objective depends on the activation and the learning
	// rate only.
	if len(v.Importance) != 7 {
		t.Fatalf("importance = %+v (note %q); want 7 parameters", v.Importance, v.ImportanceNote)
	}
	if top := v.Importance[0].Param + "," + v.Importance[1].Param; top != "activation,learning_rate" && top != "learning_rate,activation" {
		t.Errorf("importance leaders %s, want activation and learning_rate: %+v", top, v.Importance)
	}
	for _, imp := range v.Importance {
		if (imp.Param == "init" || imp.Param == "batch_size") && imp.Importance > 0.05 {
			t.Errorf("%s has importance %.3f, but the objective ignores it", imp.Param, imp.Importance)
		}
	}
	if len(v.ActInit.Activations) != 5 || len(v.ActInit.Cells) == 0 {
		t.Errorf("act x init = %+v", v.ActInit)
	}
	slopes := map[string]int{}
	for _, p := range v.Slope {
		slopes[p.Param]++
	}
	if slopes["negative_slope"] == 0 || slopes["elu_alpha"] == 0 || slopes["prelu_init"] == 0 {
		t.Errorf("slope sweep points per parameter: %v", slopes)
	}
	if len(v.Dead) != 5 || v.Dead[0].Layers != studytest.Layers || v.Dead[0].Epochs != studytest.Epochs {
		t.Fatalf("dead heatmaps: %+v", v.Dead)
	}
	for _, h := range v.Dead {
		last := float64(h.Values[studytest.Layers-1][studytest.Epochs-1])
		if h.Activation == "relu" && last <= 0.05 {
			t.Errorf("relu's last-layer dead fraction at the last epoch = %v; the fixture makes it grow", last)
		}
		if h.Activation == "tanh" && last != 0 {
			t.Errorf("tanh dead fraction %v, want 0", last)
		}
	}
	if len(v.Saturation) != 5 {
		t.Errorf("saturation heatmaps: %d", len(v.Saturation))
	}
	if len(v.PReLU) == 0 || v.PReLU[0].Activation != "prelu" {
		t.Errorf("prelu slopes: %+v", v.PReLU)
	}
	if len(v.GradNorm) != 5*studytest.Layers {
		t.Errorf("grad norm series: %d, want %d", len(v.GradNorm), 5*studytest.Layers)
	}
	front := 0
	for _, p := range v.Pareto {
		if p.Front {
			front++
		}
	}
	if len(v.Pareto) != 30 || front == 0 || front == 30 {
		t.Errorf("pareto: %d points, %d on the front", len(v.Pareto), front)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("view does not encode: %v", err)
	}
}

func TestLoadMissingStudy(t *testing.T) {
	_, url := testdb.New(t)
	ctx := context.Background()
	r, err := store.OpenReader(ctx, testdb.ReaderURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := studyview.Load(ctx, r, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v, want store.ErrNotFound", err)
	}
}

func TestOpenReaderRefusesTheOwner(t *testing.T) {
	_, url := testdb.New(t)
	if _, err := store.OpenReader(context.Background(), url); !errors.Is(err, store.ErrReaderPrivileged) {
		t.Errorf("owner URL: err = %v, want ErrReaderPrivileged", err)
	}
}
