//go:build hosts && linux

package hosts

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Long enough per trial (about 10 s on a loaded 2-core machine) that a
// host can be lost mid-trial and the loss noticed (a 3 s heartbeat
// timeout) before the trial ends.
const (
	longHidden = "128, 128"
	longEpochs = 100
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
}

// shortStudy is several trials across the hosts.
const (
	shortHidden = "64, 64"
	shortEpochs = 12
	shortTrials = 6
)

// TestNATSRestartsDuringStudy kills nats-server mid-study and starts it
// again on the same address and store: every trial completes with one
// metrics row per epoch.
func TestNATSRestartsDuringStudy(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startStudy("nats-restart", shortHidden, shortTrials, 3, shortEpochs)
	e.eventually(2*time.Minute, "the study trains a few epochs", func() bool { return e.rows(conn, s.name) >= 6 })
	e.stillRunning(conn, s)
	e.nats.Kill()
	time.Sleep(time.Second)
	e.nats.Restart()
	e.wait(s, 3*time.Minute)
	e.checkStudy(conn, s)
}

// TestControllerRestartsDuringStudy kills the controller (SIGKILL)
// mid-study and starts a new one: the study goes on, and every trial
// completes with one metrics row per epoch.
func TestControllerRestartsDuringStudy(t *testing.T) {
	e := newEnv(t, 3)
	conn := e.db()
	s := e.startStudy("ctrl-restart", shortHidden, shortTrials, 3, shortEpochs)
	e.eventually(2*time.Minute, "the study trains a few epochs", func() bool { return e.rows(conn, s.name) >= 6 })
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
