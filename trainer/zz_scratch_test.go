package trainer

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestScratchDeep(t *testing.T) {
	full, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	sub := *full
	sub.Train = subsplit(full.Train, 20000)
	sub.Val = subsplit(full.Val, 2000)
	sub.Test = subsplit(full.Test, 2000)
	lr, _ := strconv.ParseFloat(os.Getenv("LR"), 64)
	bs, _ := strconv.Atoi(os.Getenv("BS"))
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	nl, _ := strconv.Atoi(os.Getenv("L"))
	h := make([]int, nl)
	for i := range h {
		h[i] = 64
	}
	cfg := Config{Dataset: "mnist", Hidden: h, Epochs: 5, Seed: uint64(seed), LearningRate: lr, BatchSize: bs, BatchNorm: BatchNorm(os.Getenv("BN")), Dropout: 0}
	start := time.Now()
	res, err := Train(context.Background(), cfg, &sub, Options{Report: func(_ context.Context, m EpochMetrics) error {
		t.Logf("epoch %d train %.4f val %.4f acc %.3f %.0f/s grad first %.3g last %.3g", m.Epoch, m.TrainLoss, m.ValLoss, m.ValAccuracy, m.SamplesPerSec, m.Layers[0].GradNorm, m.Layers[len(m.Layers)-1].GradNorm)
		return nil
	}})
	t.Logf("test %.3f err %v in %v", res.TestAccuracy, err, time.Since(start))
}
