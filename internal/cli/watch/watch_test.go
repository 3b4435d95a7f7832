package watch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/events"
)

func msg(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoardToleratesReorderingAndRedelivery(t *testing.T) {
	b := NewBoard()
	m := func(trial, epoch int) []byte {
		return msg(t, events.EpochMetrics{Trial: trial, Epoch: epoch, MaxEpochs: 4, Activation: "relu", EpochValues: events.EpochValues{ValAccuracy: events.Finite(float64(epoch) / 10)}})
	}
	if l, _ := b.Apply("tune.study.s.trial.1.metrics", m(1, 2)); l == "" {
		t.Fatal("first message ignored")
	}
	if l, _ := b.Apply("tune.study.s.trial.1.metrics", m(1, 1)); l != "" {
		t.Fatal("an older epoch arriving late changed the board")
	}
	if l, _ := b.Apply("tune.study.s.trial.1.metrics", m(1, 2)); l != "" {
		t.Fatal("a redelivered epoch changed the board")
	}
	b.Apply("tune.study.s.trial.2.metrics", m(2, 1))
	line, ended := b.Apply("tune.study.s.trial.1.status", msg(t, events.TrialStatus{Trial: 1, Status: "complete", EpochsDone: 4, Objective: events.Finite(0.9)}))
	if !ended {
		t.Fatal("a status message did not end the trial")
	}
	if !strings.Contains(line, "trial 1") || !strings.Contains(line, "complete after 4 epochs") || !strings.Contains(line, "0.9000") {
		t.Fatalf("status line %q", line)
	}
	if l, _ := b.Apply("tune.study.s.trial.1.status", msg(t, events.TrialStatus{Trial: 1, Status: "complete"})); l != "" {
		t.Fatal("a repeated status counted twice")
	}
	var out bytes.Buffer
	n := b.Render(&out, 8)
	want := "1 trial(s) finished, 1 running\ntrial 2    relu       [##......] 1/4  val_acc 0.1000\n"
	if n != 2 || out.String() != want {
		t.Fatalf("render (%d lines):\n%q\nwant\n%q", n, out.String(), want)
	}
}
