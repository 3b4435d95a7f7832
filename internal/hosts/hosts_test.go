//go:build hosts && linux

package hosts

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/trainer"
)

// Long enough per trial (about 10 s on a loaded 2-core machine) that a
// host can be lost mid-trial and the loss noticed (a 3 s heartbeat
// timeout) before the trial ends.
const (
	longHidden = "256, 256"
	longEpochs = 80
)

// runningOn waits until the study's trial 0 has at least n metric rows
// and returns the host of the worker training it.
func (e *env) runningOn(conn *pgx.Conn, name string, n int) int {
	e.t.Helper()
	var worker string
	e.eventually(2*time.Minute, "trial 0 trains a few epochs", func() bool {
		err := conn.QueryRow(context.Background(), `SELECT coalesce(t.worker, ''), count(m.epoch)
			FROM trials t JOIN studies s ON s.id = t.study_id LEFT JOIN trial_metrics m ON m.trial_id = t.id
			WHERE s.name = $1 AND t.number = 0 GROUP BY t.id`, name).Scan(&worker, new(int))
		if err != nil || worker == "" {
			return false
		}
		var rows int
		_ = conn.QueryRow(context.Background(), `SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
			JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number = 0`, name).Scan(&rows)
		return rows >= n
	})
	return hostOf(e.t, worker)
}

// TestHostKilledTrialResumesOnAnother kills the host training a trial
// (its processes, and its link down). The trial resumes on another host
// from the checkpoint in the object store: the new attempt publishes no
// epoch before the one that was in flight, the trial completes with one
// metrics row per epoch, and its checkpoints are gone from the bucket.
func TestHostKilledTrialResumesOnAnother(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startStudy("killed", longHidden, 1, 1, longEpochs)
	victim := e.runningOn(conn, s.name, 4)
	e.stillRunning(conn, s)
	if err := network.Hosts[victim].Kill(); err != nil {
		t.Fatal(err)
	}
	e.wait(s, 3*time.Minute)
	ts := e.checkStudy(conn, s)
	if got := ts[0]; got.attempt < 2 || got.worker == network.Hosts[victim].Name {
		t.Fatalf("trial 0 ended as attempt %d on %s; want a later attempt on another host than %s",
			got.attempt, got.worker, network.Hosts[victim].Name)
	}
	js := e.jetStream()
	pub := e.published(js, s.name, 0)
	first := slices.Max(pub[1])
	final := pub[ts[0].attempt]
	if len(pub[1]) < 4 || len(final) == 0 {
		t.Fatalf("published epochs by attempt: %v", pub)
	}
	// The killed attempt got to epoch `first`; its checkpoint is at most
	// one epoch behind (the one in flight). Nothing before that is
	// trained again.
	if lo := slices.Min(final); lo < first || lo == 1 {
		t.Fatalf("attempt %d resumed at epoch %d after attempt 1 published up to %d: epochs repeated (published %v)",
			ts[0].attempt, lo, first, pub)
	}
	if left := e.checkpointsLeft(js, s.name, 0); len(left) != 0 {
		t.Fatalf("checkpoints left in the bucket after the trial ended: %v", left)
	}
}

// TestHostCutOffLateWritesAreFenced cuts a host's link while it trains a
// trial (its processes live on), past the heartbeat timeout: the trial is
// retried on another host and completes. Then the link comes back, and
// whatever the cut-off attempt still sends is fenced: the trial's row
// and every metric row after the retry's resume point stay the retry's.
func TestHostCutOffLateWritesAreFenced(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startStudy("cutoff", longHidden, 1, 1, longEpochs)
	victim := network.Hosts[e.runningOn(conn, s.name, 4)]
	e.stillRunning(conn, s)
	if err := victim.Cut(); err != nil {
		t.Fatal(err)
	}
	e.wait(s, 3*time.Minute)
	if err := victim.Restore(); err != nil {
		t.Fatal(err)
	}
	// Give the cut-off worker time to reconnect and send what it held
	// (the assertions below hold whatever it sends, or if it sends
	// nothing).
	time.Sleep(8 * time.Second)
	for _, p := range victim.Procs() {
		if testing.Verbose() {
			t.Logf("cut-off worker:\n%s", tail(p.Output(), 4000))
		}
		if p.Exited() {
			t.Fatalf("the cut-off worker exited after its link came back:\n%s", tail(p.Output(), 3000))
		}
	}
	ts := e.checkStudy(conn, s)
	final := ts[0].attempt
	if final < 2 || ts[0].worker == victim.Name {
		t.Fatalf("trial 0 ended as attempt %d on %s; want a later attempt on another host than %s", final, ts[0].worker, victim.Name)
	}
	pub := e.published(e.jetStream(), s.name, 0)
	resumedAt := slices.Min(pub[final])
	var stale int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
		JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number = 0 AND m.epoch >= $2 AND m.attempt <> $3`,
		s.name, resumedAt, final).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Fatalf("%d metric rows from epoch %d on are not attempt %d's: late writes won (published %v)", stale, resumedAt, final, pub)
	}
	if late := lateEpochs(pub, resumedAt); len(late) > 0 {
		t.Logf("the cut-off attempt published epochs %v after the retry resumed at %d; all fenced", late, resumedAt)
	}
	// Whatever the cut-off worker did or did not get out, one more late
	// write of attempt 1, valid in every field, must be fenced too.
	e.lateWrite(conn, s, victim.Name, longEpochs, final)
}

// lateEpochs are the epochs attempts before the last published at or
// after the epoch the last one resumed at.
func lateEpochs(pub map[int][]int, resumedAt int) []int {
	final := slices.Max(slices.Collect(maps.Keys(pub)))
	var late []int
	for a, epochs := range pub {
		for _, ep := range epochs {
			if a < final && ep >= resumedAt {
				late = append(late, ep)
			}
		}
	}
	slices.Sort(late)
	return late
}

// lateWrite publishes epoch's metrics as attempt 1 of trial 0 from worker,
// waits until the sink has acknowledged it, and asserts that the row is
// still attempt final's and that nothing was dead-lettered: fenced, not
// refused.
func (e *env) lateWrite(conn *pgx.Conn, s *study, worker string, epoch, final int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var studyID, trialID int64
	if err := conn.QueryRow(ctx, `SELECT s.id, t.id FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number = 0`,
		s.name).Scan(&studyID, &trialID); err != nil {
		e.t.Fatal(err)
	}
	js := e.jetStream()
	msg := events.EpochMetrics{Study: s.name, StudyID: studyID, Trial: 0, TrialID: trialID, Attempt: 1, Worker: worker,
		MaxEpochs: s.epochs, Activation: "relu", Time: time.Now().UTC()}
	msg.SetTrainerMetrics(trainer.EpochMetrics{Epoch: epoch, TrainLoss: 9, ValLoss: 9, ValAccuracy: 0.001, LR: 0.001})
	if err := events.NewPublisher(js, events.Config{}).PublishMetrics(ctx, msg); err != nil {
		e.t.Fatal(err)
	}
	str, err := js.Stream(ctx, events.DefaultStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	seq := info.State.LastSeq
	e.eventually(time.Minute, "the sink acknowledges the late write", func() bool {
		ci, err := js.Consumer(ctx, events.DefaultStream, "relutune-sink")
		if err != nil {
			return false
		}
		st, err := ci.Info(ctx)
		return err == nil && st.AckFloor.Stream >= seq
	})
	var attempt, dead int
	var acc float64
	if err := conn.QueryRow(ctx, `SELECT attempt, val_accuracy FROM trial_metrics WHERE trial_id = $1 AND epoch = $2`, trialID, epoch).Scan(&attempt, &acc); err != nil {
		e.t.Fatal(err)
	}
	if attempt != final || acc == 0.001 {
		e.t.Fatalf("after a late write of attempt 1, epoch %d's row is attempt %d's (val_accuracy %v); want attempt %d's", epoch, attempt, acc, final)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&dead); err != nil {
		e.t.Fatal(err)
	}
	if dead != 0 {
		e.t.Fatalf("%d dead letters: the late write was refused as malformed, not fenced", dead)
	}
}

// A study of several trials across the hosts, about a second of training
// each, so that a fault can land while most of it is still to run.
const (
	shortHidden = "256, 256"
	shortEpochs = 30
	shortTrials = 9
)

// TestNATSRestartsDuringStudy kills nats-server mid-study and starts it
// again on the same address and store: every trial completes with one
// metrics row per epoch. The study keeps its best two models
// (keep_models: 2), which survive the restart in the bucket and which
// tunectl export --model downloads.
func TestNATSRestartsDuringStudy(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startSpec(fmt.Sprintf(studySpec, "nats-restart", shortHidden, shortTrials, 3, shortEpochs)+"keep_models: 2\n", shortTrials, shortEpochs)
	e.eventually(2*time.Minute, "the study trains a few epochs", func() bool { return e.rows(conn, s.name) >= 3 })
	e.stillRunning(conn, s)
	e.nats.Kill()
	time.Sleep(time.Second)
	e.nats.Restart()
	e.wait(s, 3*time.Minute)
	e.checkStudy(conn, s)
	e.checkKeptModels(conn, s, 2, 3)
}

// checkKeptModels asserts that the study's best keep trials have models
// in the bucket (at most parallelism-1 more, from trials that completed
// at once), that no checkpoints are left, and that tunectl export --model
// writes the best one as a relutune checkpoint file.
func (e *env) checkKeptModels(conn *pgx.Conn, s *study, keep, parallelism int) {
	e.t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT t.number FROM trials t JOIN studies s ON s.id = t.study_id
		WHERE s.name = $1 AND t.status = 'complete' ORDER BY t.objective DESC, t.number LIMIT $2`, s.name, keep)
	if err != nil {
		e.t.Fatal(err)
	}
	best, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || len(best) != keep {
		e.t.Fatalf("best trials %v, %v; want %d", best, err, keep)
	}
	js := e.jetStream()
	st, err := ckptstore.New(js, ckptstore.Config{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	models, err := st.Models(ctx, s.name, true)
	if err != nil {
		e.t.Fatal(err)
	}
	kept := map[int]bool{}
	for _, m := range models {
		kept[m.Trial] = true
	}
	for _, n := range best {
		if !kept[n] {
			e.t.Errorf("trial %d is among the best %d but has no kept model (kept: %v)", n, keep, models)
		}
	}
	if len(models) > keep+parallelism-1 {
		e.t.Errorf("%d models kept, want at most %d", len(models), keep+parallelism-1)
	}
	for n := range s.trials {
		if left := e.checkpointsLeft(js, s.name, n); len(left) != 0 {
			e.t.Errorf("trial %d left checkpoints: %v", n, left)
		}
	}
	file := filepath.Join(e.t.TempDir(), "best.ckpt")
	out, err := exec.Command(filepath.Join(binDir, "tunectl"), "export", "--model", s.name, strconv.Itoa(best[0]),
		"--file", file, "--nats-url", e.nats.URL).CombinedOutput()
	if err != nil {
		e.t.Fatalf("tunectl export --model: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(b, []byte("RLTCKPT\x01")) {
		e.t.Fatalf("exported model: %d bytes, %v; want a relutune checkpoint file", len(b), err)
	}
}

// TestControllerRestartsDuringStudy kills the controller (SIGKILL)
// mid-study and starts a new one: the study goes on, and every trial
// completes with one metrics row per epoch.
func TestControllerRestartsDuringStudy(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startStudy("ctrl-restart", shortHidden, shortTrials, 3, shortEpochs)
	e.eventually(2*time.Minute, "the study trains a few epochs", func() bool { return e.rows(conn, s.name) >= 3 })
	e.stillRunning(conn, s)
	e.ctrl.Kill()
	e.startController()
	e.wait(s, 3*time.Minute)
	e.checkStudy(conn, s)
}

// stillRunning fails the test when the study's trials have all ended
// already: the fault would then come after the study, not during it.
func (e *env) stillRunning(conn *pgx.Conn, s *study) {
	e.t.Helper()
	var ended int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id
		WHERE s.name = $1 AND t.status NOT IN ('pending', 'running')`, s.name).Scan(&ended); err != nil {
		e.t.Fatal(err)
	}
	if ended == s.trials {
		e.t.Fatalf("all %d trials ended before the fault; the study is too short for this machine", ended)
	}
}
