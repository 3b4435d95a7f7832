package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// flakyStore fails its first calls as a lost connection does.
type flakyStore struct {
	*store.Store
	writeFailures, lookupFailures, deadFailures atomic.Int32
}

func connRefused(what string) error {
	return fmt.Errorf("store: %s: %w", what, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
}

func (f *flakyStore) WriteMetrics(ctx context.Context, rows []store.MetricRow) (int64, error) {
	if f.writeFailures.Add(-1) >= 0 {
		return 0, connRefused("write metrics")
	}
	return f.Store.WriteMetrics(ctx, rows)
}

func (f *flakyStore) TrialRefs(ctx context.Context, ids []int64) (map[int64]store.TrialRef, error) {
	if f.lookupFailures.Add(-1) >= 0 {
		return nil, connRefused("trial refs")
	}
	return f.Store.TrialRefs(ctx, ids)
}

func (f *flakyStore) WriteDeadLetters(ctx context.Context, dls []store.DeadLetter) error {
	if f.deadFailures.Add(-1) >= 0 {
		return connRefused("dead letters")
	}
	return f.Store.WriteDeadLetters(ctx, dls)
}

// TestSinkDeadLettersPoisonAndWritesTheRest sends every kind of message
// that can never be stored, interleaved with valid ones, through the real
// stream and database, with transient database failures on top. Every valid
// row lands, every poison message is in dead_letters with its reason and
// off the stream, and no other study's trial is touched.
func TestSinkDeadLettersPoisonAndWritesTheRest(t *testing.T) {
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no NATS or Postgres")
	}
	st, _ := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := []byte(`{"name":"x","schedule":{"kind":"asha","min_epochs":1,"max_epochs":5,"reduction":3}}`)
	a, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "study-a", Spec: spec, SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "study-b", Spec: spec, SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	var news []store.NewTrial
	for i := 0; i < 4; i++ {
		news = append(news, store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{}`), Seed: 1})
	}
	ta, err := st.InsertTrials(ctx, a.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := st.InsertTrials(ctx, b.ID, news[:1])
	if err != nil {
		t.Fatal(err)
	}
	// A row that passes every check of the sink's and that Postgres refuses
	// all the same (as a constraint added later could): the sink must find
	// it by splitting its batch.
	if _, err := st.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_test_row() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.worker = 'refused-by-db' THEN
				RAISE EXCEPTION 'test: this row is refused' USING ERRCODE = '22023';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_test_row BEFORE INSERT ON trial_metrics FOR EACH ROW EXECUTE FUNCTION refuse_test_row();`); err != nil {
		t.Fatal(err)
	}

	tag := fmt.Sprintf("%d%06d", os.Getpid()%10000, rand.IntN(1_000_000))
	cfg := events.Config{Stream: "RELUTUNE_P_" + tag, Prefix: "tunep" + tag}
	nc, js, err := events.Connect(process.Env(process.EnvNATSURL, process.DefaultNATSURL), "poison-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), cfg.Stream)

	type message struct {
		name, subject string
		data          []byte
		reason        string // "" for a valid message
	}
	encode := func(m events.EpochMetrics) []byte {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	valid := func(study string, trial int, id int64, epoch int) events.EpochMetrics {
		return events.EpochMetrics{Study: study, Trial: trial, TrialID: id, Attempt: 1, Worker: "w", Epoch: epoch, MaxEpochs: 5,
			Layers: []events.LayerStats{{DeadFraction: events.Finite(0.1)}}, EpochValues: events.EpochValues{ValAccuracy: events.Finite(float64(epoch) / 10), ValLoss: events.Finite(float64(epoch))}}
	}
	subjA := func(trial int) string { return cfg.MetricsSubject("study-a", trial) }
	poisonA := func(name, reason string, edit func(*events.EpochMetrics)) message {
		m := valid("study-a", 0, ta[0].ID, 1)
		edit(&m)
		return message{name, subjA(m.Trial), encode(m), reason}
	}
	raw := func(name, body, reason string) message { return message{name, subjA(0), []byte(body), reason} }
	long := strings.Repeat("x", 300)

	poison := []message{
		poisonA("epoch 2^31", "epoch 2147483648 must be in [1, 1000]", func(m *events.EpochMetrics) { m.Epoch = 1 << 31 }),
		poisonA("epoch max int32", "epoch 2147483647 must be in [1, 1000]", func(m *events.EpochMetrics) { m.Epoch = math.MaxInt32 }),
		poisonA("epoch 0", "epoch 0 must be in [1, 1000]", func(m *events.EpochMetrics) { m.Epoch = 0 }),
		poisonA("epoch past max_epochs", `epoch 6 must be in [1, 5], study "study-a"'s schedule.max_epochs`, func(m *events.EpochMetrics) {
			m.Trial, m.TrialID, m.Epoch, m.MaxEpochs = 1, ta[1].ID, 6, 1000
		}),
		poisonA("attempt 3e9", "attempt 3000000000 must be in [1, 100]", func(m *events.EpochMetrics) { m.Attempt = 3e9 }),
		poisonA("attempt 0", "attempt 0 must be in [1, 100]", func(m *events.EpochMetrics) { m.Attempt = 0 }),
		poisonA("NUL in worker", "worker \"w\\x00x\" must not contain a NUL byte", func(m *events.EpochMetrics) { m.Worker = "w\x00x" }),
		poisonA("long worker", "worker is 300 bytes, at most 256 allowed", func(m *events.EpochMetrics) { m.Worker = long }),
		poisonA("long activation", "activation is 300 bytes, at most 64 allowed", func(m *events.EpochMetrics) { m.Activation = long }),
		raw("not JSON", "\xff\x00 not json", "not a metrics message"),
		raw("JSON array", `[1, 2, 3]`, "not a metrics message: json: cannot unmarshal array"),
		raw("JSON null", `null`, `study "" in the message is not "study-a"`),
		raw("epoch a string", `{"study":"study-a","trial":0,"trial_id":1,"attempt":1,"epoch":"one"}`, "not a metrics message: json: cannot unmarshal string"),
		poisonA("huge", "bytes, at most 65536 allowed", func(m *events.EpochMetrics) {
			m.Layers = make([]events.LayerStats, 2000) // about 100 KiB of JSON
		}),
		poisonA("B's trial on A's subject", fmt.Sprintf(`trial_id %d is trial 0 of study "study-b", not of study "study-a"`, tb[0].ID), func(m *events.EpochMetrics) {
			m.TrialID, m.Epoch, m.Attempt, m.ValAccuracy = tb[0].ID, 2, 2, events.Finite(0.999)
		}),
		poisonA("B's trial with epoch max int32", "epoch 2147483647 must be in [1, 1000]", func(m *events.EpochMetrics) {
			m.TrialID, m.Epoch = tb[0].ID, math.MaxInt32
		}),
		poisonA("B's study in A's subject", `study "study-b" in the message is not "study-a"`, func(m *events.EpochMetrics) {
			m.Study, m.TrialID = "study-b", tb[0].ID
		}),
		poisonA("trial number not the subject's", fmt.Sprintf(`trial_id %d is trial 0 of study "study-a", not trial 1`, ta[0].ID), func(m *events.EpochMetrics) {
			m.Trial = 1 // published on trial 1's subject with trial 0's id
		}),
		poisonA("study id of another study", fmt.Sprintf(`study_id %d is not the id of study "study-a"`, b.ID), func(m *events.EpochMetrics) { m.StudyID = b.ID }),
		poisonA("nonexistent trial", "trial_id 987654321 names no stored trial", func(m *events.EpochMetrics) { m.TrialID = 987654321 }),
		{"subject trial not a number", "tunep" + tag + ".study.study-a.trial.x.metrics", encode(valid("study-a", 0, ta[0].ID, 1)), `trial "x" must be a number`},
		poisonA("refused by Postgres", "test: this row is refused (SQLSTATE 22023)", func(m *events.EpochMetrics) {
			m.Trial, m.TrialID, m.Worker = 3, ta[3].ID, "refused-by-db"
		}),
	}

	// Valid messages: study-a's trials 0-2 for 5 epochs, study-b's trial 0
	// for 3; two carry non-finite values, stored as NULL.
	var good []message
	for e := 1; e <= 5; e++ {
		for tr := 0; tr < 3; tr++ {
			m := valid("study-a", tr, ta[tr].ID, e)
			g := message{fmt.Sprintf("a%d/%d", tr, e), subjA(tr), encode(m), ""}
			switch {
			case tr == 1 && e == 4:
				m.ValLoss = events.Finite(math.NaN())
				g.data = encode(m)
			case tr == 2 && e == 3: // a number beyond float64: non-finite, so null
				g.data = []byte(strings.Replace(string(g.data), `"val_loss":3,`, `"val_loss":1e999,`, 1))
			}
			good = append(good, g)
		}
		if e <= 3 {
			good = append(good, message{fmt.Sprintf("b0/%d", e), cfg.MetricsSubject("study-b", 0), encode(valid("study-b", 0, tb[0].ID, e)), ""})
		}
	}
	var all []message
	for i := range max(len(good), len(poison)) {
		if i < len(poison) {
			all = append(all, poison[i])
		}
		if i < len(good) {
			all = append(all, good[i])
		}
	}
	wantReason := map[uint64]message{}
	for _, m := range all {
		ack, err := js.Publish(ctx, m.subject, m.data)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if m.reason != "" {
			wantReason[ack.Sequence] = m
		}
	}

	fs := &flakyStore{Store: st}
	fs.writeFailures.Store(2)
	fs.lookupFailures.Store(1)
	fs.deadFailures.Store(1)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&Sink{JS: js, Config: cfg, Writer: fs, Batch: 7, MaxWait: 50 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(sctx)
	}()

	// Wait until the consumer has nothing left: every message acked or
	// terminated.
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := js.Consumer(ctx, cfg.Stream, "relutune-sink")
		if err == nil {
			ci, err := c.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ci.NumAckPending == 0 && ci.NumPending == 0 && ci.Delivered.Stream == uint64(len(all)) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink stalled: messages still pending")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Every valid row landed, and nothing else.
	rows, err := st.Pool().Query(ctx, `SELECT t.number, s.name, m.epoch, m.attempt, m.val_accuracy, m.val_loss, m.worker
		FROM trial_metrics m JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for rows.Next() {
		var number, epoch, attempt int
		var study, worker string
		var acc float64
		var loss *float64
		if err := rows.Scan(&number, &study, &epoch, &attempt, &acc, &loss, &worker); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%s%d/%d", study[len(study)-1:], number, epoch)
		got[key] = true
		if attempt != 1 || acc != float64(epoch)/10 || worker != "w" {
			t.Errorf("row %s: attempt %d, val_accuracy %v, worker %q; want the valid message's 1, %v, \"w\"",
				key, attempt, acc, worker, float64(epoch)/10)
		}
		nonFinite := key == "a1/4" || key == "a2/3"
		if nonFinite && loss != nil || !nonFinite && (loss == nil || *loss != float64(epoch)) {
			got := "null"
			if loss != nil {
				got = fmt.Sprint(*loss)
			}
			t.Errorf("row %s: val_loss %s; want null for a non-finite value, else %d", key, got, epoch)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, g := range good {
		if !got[g.name] {
			t.Errorf("valid message %s was not written", g.name)
		}
	}
	if len(got) != len(good) {
		t.Errorf("%d metric rows, want the %d valid ones", len(got), len(good))
	}
	// Trial progress comes from valid messages only: study-b's trial is
	// untouched by the messages that named it from study-a's subject.
	for _, want := range []struct {
		study  int64
		number int
		epochs int
		status string
	}{{a.ID, 0, 5, "running"}, {a.ID, 1, 5, "running"}, {a.ID, 2, 5, "running"}, {a.ID, 3, 0, "pending"}, {b.ID, 0, 3, "running"}} {
		ts, err := st.Trials(ctx, want.study)
		if err != nil {
			t.Fatal(err)
		}
		tr := ts[want.number]
		wantAttempt := 1
		if want.epochs == 0 {
			wantAttempt = 0
		}
		if tr.EpochsDone != want.epochs || tr.Attempt != wantAttempt || string(tr.Status) != want.status {
			t.Errorf("study %d trial %d: %d epochs, attempt %d, %s; want %d epochs, attempt %d, %s",
				want.study, want.number, tr.EpochsDone, tr.Attempt, tr.Status, want.epochs, wantAttempt, want.status)
		}
	}

	// Every poison message is dead-lettered once, with its reason.
	dl, err := st.Pool().Query(ctx, `SELECT stream_seq, subject, coalesce(study, ''), reason, data FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for dl.Next() {
		var seq int64
		var subject, study, reason string
		var data []byte
		if err := dl.Scan(&seq, &subject, &study, &reason, &data); err != nil {
			t.Fatal(err)
		}
		m, ok := wantReason[uint64(seq)]
		if !ok {
			t.Errorf("dead letter at stream sequence %d is not a poison message: %s", seq, reason)
			continue
		}
		if seen[uint64(seq)] {
			t.Errorf("%s: dead-lettered twice", m.name)
		}
		seen[uint64(seq)] = true
		wantData := m.data
		if len(wantData) > store.MaxDeadLetterBytes {
			wantData = wantData[:store.MaxDeadLetterBytes]
		}
		if subject != m.subject || study != "study-a" || !strings.Contains(reason, m.reason) || string(data) != string(wantData) {
			t.Errorf("%s: dead letter %q %q %q (%d bytes); want subject %q, study-a, reason with %q, the message's first %d bytes",
				m.name, subject, study, reason, len(data), m.subject, m.reason, len(wantData))
		}
	}
	if err := dl.Err(); err != nil {
		t.Fatal(err)
	}
	for seq, m := range wantReason {
		if !seen[seq] {
			t.Errorf("%s: not dead-lettered", m.name)
		}
	}
	if n, err := st.DeadLetterCount(ctx, "study-a"); err != nil || n != len(poison) {
		t.Errorf("study-a has %d dead letters (%v), want %d", n, err, len(poison))
	}
	if n, err := st.DeadLetterCount(ctx, "study-b"); err != nil || n != 0 {
		t.Errorf("study-b has %d dead letters (%v), want 0", n, err)
	}
	if fs.writeFailures.Load() >= 0 || fs.lookupFailures.Load() >= 0 || fs.deadFailures.Load() >= 0 {
		t.Errorf("the transient failures were not all met: %d %d %d", fs.writeFailures.Load(), fs.lookupFailures.Load(), fs.deadFailures.Load())
	}
}
