package trainer

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// TestRebaseCheckpoint: a rebased checkpoint resumes as the new
// configuration; with an unchanged configuration it reproduces the source
// run exactly, with a new learning rate it continues from the source's
// weights (its first epoch close to the source's), and a checkpoint of
// another shape is refused.
func TestRebaseCheckpoint(t *testing.T) {
	ds := spirals(t, 2)
	plain := Config{Dataset: "spirals", Hidden: []int{16}, Epochs: 4, BatchSize: 32, Seed: 3, Activation: LeakyReLU, NegativeSlope: 0.1, LearningRate: 0.02}
	// Batch norm writes format version 2, whose running statistics follow
	// the moments and must be carried over too.
	bn := plain
	bn.BatchNorm, bn.Dropout = BatchNormBefore, 0.1
	for name, src := range map[string]Config{"v1": plain, "batch norm v2": bn} {
		t.Run(name, func(t *testing.T) { testRebaseCheckpoint(t, ds, src) })
	}
}

func testRebaseCheckpoint(t *testing.T, ds *Dataset, src Config) {
	ckpts := map[int][]byte{}
	full, _ := runMetrics(t, src, ds, Options{Checkpoint: func(epoch int, write func(io.Writer) error) error {
		var b bytes.Buffer
		err := write(&b)
		ckpts[epoch] = b.Bytes()
		return err
	}})
	rebase := func(cfg Config) ([]byte, error) {
		var out bytes.Buffer
		err := RebaseCheckpoint(bytes.NewReader(ckpts[2]), &out, cfg)
		return out.Bytes(), err
	}
	same, err := rebase(src)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := runMetrics(t, src, ds, Options{Resume: bytes.NewReader(same)})
	if !reflect.DeepEqual(rest, full[2:]) {
		t.Fatalf("rebased to the same config:\n got %+v\nwant %+v", rest, full[2:])
	}

	target := src
	target.LearningRate, target.NegativeSlope, target.Seed, target.WeightDecay = 0.016, 0.12, 99, 1e-4
	moved, err := rebase(target)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ = runMetrics(t, target, ds, Options{Resume: bytes.NewReader(moved)})
	if len(rest) != 2 || rest[0].Epoch != 3 {
		t.Fatalf("rebased run trained epochs %+v, want 3 and 4", rest)
	}
	freshCfg := target
	freshCfg.Epochs = 1
	fresh, _ := runMetrics(t, freshCfg, ds, Options{})
	dSource := abs(rest[0].ValLoss - full[2].ValLoss)
	dFresh := abs(rest[0].ValLoss - fresh[0].ValLoss)
	if dSource >= dFresh {
		t.Errorf("epoch 3 after rebasing: val loss %.4f is %.4f from the source's %.4f and %.4f from a fresh start's %.4f; want it nearer the source",
			rest[0].ValLoss, dSource, full[2].ValLoss, dFresh, fresh[0].ValLoss)
	}

	other := src
	other.Hidden = []int{8}
	if _, err := rebase(other); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("another shape: err %v, want ErrCheckpoint", err)
	}
	otherAct := src
	otherAct.Activation = ELU
	if _, err := rebase(otherAct); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("another activation: err %v, want ErrCheckpoint", err)
	}
	damaged := append([]byte(nil), ckpts[2]...)
	damaged[len(damaged)-10] ^= 1
	if err := RebaseCheckpoint(bytes.NewReader(damaged), io.Discard, src); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("damaged: err %v, want ErrCheckpoint", err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
