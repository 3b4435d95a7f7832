package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/telemetry"
)

// MetricWriter stores metric rows idempotently (store.Store does). An
// error wrapping store.ErrRejected means the batch holds a row that can
// never be written; any other error is worth retrying.
type MetricWriter interface {
	WriteMetrics(ctx context.Context, rows []store.MetricRow) (int64, error)
}

// MetricStore is what the sink needs of Postgres (store.Store has it all):
// the metric write, the stored trials to check messages against, and a
// place for the messages it can never write.
type MetricStore interface {
	MetricWriter
	// TrialRefs returns the stored trials among ids; unknown ids are absent.
	TrialRefs(ctx context.Context, ids []int64) (map[int64]store.TrialRef, error)
	// WriteDeadLetters stores messages the sink gives up on.
	WriteDeadLetters(ctx context.Context, dls []store.DeadLetter) error
}

// Sink moves metrics from the stream into Postgres through a durable pull
// consumer, as a pipeline of stages that overlap: one goroutine fetches
// batches, one decodes and checks them and deals their rows out to
// Writers goroutines (default two) by trial_id mod Writers, each writer
// writes what it was dealt (one COPY-merge transaction, taking whatever
// else is queued for it up to Batch rows), and one goroutine acks the
// messages of each write once its transaction has committed, so a crash
// redelivers, and the writer's idempotency turns redelivery into a no-op.
// Writers never share a trial, so their merges never wait on each other's
// locks; writes may commit out of order: the merge keeps the highest
// attempt of each (trial, epoch) whatever the order.
//
// No message can stall it or write where it does not belong. Before
// anything reaches SQL, each message is decoded and bounded
// (DecodeMetricRow), and its trial_id must name the trial that its
// subject names, of the study its subject names, with an epoch within that
// study's schedule.max_epochs (looked up in Postgres once per trial, then
// cached). A message that fails, and a row Postgres refuses for its data
// (the batch is split until the refused row stands alone), is stored in
// dead_letters with the reason and terminated on the stream. Transient
// errors (a lost connection) dead-letter nothing: the batch is retried.
type Sink struct {
	JS      jetstream.JetStream
	Config  events.Config
	Writer  MetricStore
	Log     *slog.Logger
	Durable string        // consumer name; default "relutune-sink"
	Batch   int           // messages per fetch; default 2000
	MaxWait time.Duration // how long a fetch waits to fill a batch; default 250ms
	// Writers is the number of batches written at once, each in its own
	// transaction on its own connection; default 2. A write spends much
	// of its time waiting on Postgres, so a second writer pays. Each
	// writer has its own share of the trials (trial_id mod Writers), so
	// two merges never lock the same trial; were they to deadlock all the
	// same, Postgres aborts one, which is a transient error here: it is
	// retried, and nothing is acked before it commits.
	Writers int
	// Metrics observes batch sizes, lag and dead letters; nil observes nothing.
	Metrics *telemetry.Metrics

	trials map[int64]store.TrialRef // cache of TrialRefs; trials never change study or number
	// acked, when set, is told the rows of each write whose messages have
	// been acked (BenchmarkIngest counts committed rows with it).
	acked func(rows int)

	// pendingMu guards pendingSeq, the newest stream sequence whose
	// pending count the metrics report: writers finish out of stream
	// order, and an older batch's count must not replace a newer one's.
	pendingMu  sync.Mutex
	pendingSeq uint64
}

// maxCachedTrials bounds the sink's cache of stored trials; it is emptied
// when full.
const maxCachedTrials = 1 << 16

// Run consumes until ctx is done. It returns nil on cancellation.
func (s *Sink) Run(ctx context.Context) error {
	cfg := s.Config.WithDefaults()
	if s.Writer == nil {
		return errors.New("events: sink has no Writer")
	}
	durable := s.Durable
	if durable == "" {
		durable = "relutune-sink"
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 2000 // measured: 500 gives ~29k rows/s end to end, 2000 ~40k (one writer, no pipelining)
	}
	maxWait := s.MaxWait
	if maxWait <= 0 {
		maxWait = 250 * time.Millisecond
	}
	writers := s.Writers
	if writers <= 0 {
		writers = 2
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	if _, err := events.EnsureStream(ctx, s.JS, cfg); err != nil {
		return err
	}
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "relutune metrics sink: JetStream -> Postgres",
		FilterSubject: cfg.AllMetricsSubjects(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		// Well above what the stages can hold at once (the iterator's
		// buffer of two batches, one being gathered, two queued before
		// decoding, one being decoded, two queued per writer, one
		// written per writer, acks in flight), so delivery never stops
		// at the limit: a pull request that meets the limit can wait out
		// its expiry and longer (measured: a stall of a second per
		// batch), and this stall held the sink to half the rate of its
		// own writes.
		MaxAckPending: (24 + 4*writers) * batch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("events: sink consumer: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stage := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	fetched := make(chan []jetstream.Msg, 2)
	prepared := make([]chan *sinkBatch, writers) // one per writer
	for i := range prepared {
		prepared[i] = make(chan *sinkBatch, 2)
	}
	written := make(chan ackBatch, 2*writers)
	stage(func() {
		defer close(fetched)
		s.fetch(ctx, log, cons, batch, maxWait, fetched)
	})
	stage(func() {
		defer func() {
			for _, c := range prepared {
				close(c)
			}
		}()
		for msgs := range fetched {
			b, err := s.prepare(ctx, cfg, log, msgs)
			if err != nil {
				return // ctx is done
			}
			for i, part := range b.deal(writers) {
				if part == nil {
					continue
				}
				select {
				case prepared[i] <- part:
				case <-ctx.Done():
					return
				}
			}
		}
	})
	var writing sync.WaitGroup
	for _, in := range prepared {
		writing.Add(1)
		stage(func() {
			defer writing.Done()
			for b := range in {
				b = b.coalesce(in, batch)
				ack, err := s.write(ctx, log, b)
				if err != nil {
					return // ctx is done
				}
				select {
				case written <- ackBatch{ack, len(b.rows)}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	stage(func() {
		writing.Wait()
		close(written)
	})
	stage(func() {
		for w := range written {
			for _, m := range w.msgs {
				if err := m.Ack(); err != nil {
					log.Warn("sink ack failed; the message will be redelivered", "err", err)
				}
			}
			if s.acked != nil {
				s.acked(w.rows)
			}
		}
	})
	// Every stage stops when ctx is done (a send waits on ctx too); what
	// was not acked is redelivered to the next sink.
	wg.Wait()
	return nil
}

// fetch gathers messages into batches of up to batch messages, a batch
// ending when full, maxWait after its first message, or after idleFlush
// without a message, and sends them to
// out until ctx is done. It reads through a message iterator, which keeps
// pull requests for the next messages outstanding while the batch before
// is being decoded and written.
func (s *Sink) fetch(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, batch int, maxWait time.Duration, out chan<- []jetstream.Msg) {
	for ctx.Err() == nil {
		// Short pull requests with frequent heartbeats: a request the
		// server dropped (seen once after the writers failed) is noticed
		// and replaced within about a second, not after the default 30 s
		// expiry, during which nothing was delivered.
		// A missed heartbeat makes the iterator issue a new request
		// itself, without a resubscription's pause (under load, heartbeats
		// came late and each cost the sink a second).
		it, err := cons.Messages(jetstream.PullMaxMessages(2*batch), jetstream.PullExpiry(2*time.Second),
			jetstream.PullHeartbeat(500*time.Millisecond), jetstream.WithMessagesErrOnMissingHeartbeat(false))
		if err != nil {
			log.Warn("sink fetch failed; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, it.Stop) // ends a Next waiting for a message
		err = s.gather(ctx, it, batch, maxWait, out)
		stop()
		it.Stop()
		if err != nil && ctx.Err() == nil {
			log.Warn("sink fetch ended with an error; resubscribing", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

// idleFlush ends a batch early when no message has come for this long and
// no batch waits to be decoded: the stream has gone quiet, and waiting out
// maxWait would only delay the rows.
const idleFlush = 20 * time.Millisecond

// gather is fetch's loop over one iterator; it returns when the iterator
// fails or ctx is done.
func (s *Sink) gather(ctx context.Context, it jetstream.MessagesContext, batch int, maxWait time.Duration, out chan<- []jetstream.Msg) error {
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		msgs := make([]jetstream.Msg, 1, batch)
		msgs[0] = m
		deadline := time.Now().Add(maxWait)
		for len(msgs) < batch {
			wait := time.Until(deadline)
			// Flush early on a quiet stream only while the stages after
			// are idle: with batches queued, a short one would only add a
			// transaction.
			idle := len(out) == 0
			if idle {
				wait = min(wait, idleFlush)
			}
			if wait <= 0 {
				break
			}
			m, err := it.Next(jetstream.NextMaxWait(wait))
			if errors.Is(err, nats.ErrTimeout) {
				if idle && time.Until(deadline) > 0 && len(out) != 0 {
					continue // the stages filled up meanwhile: keep gathering
				}
				break
			}
			if err != nil {
				// Send what was gathered: those messages are delivered,
				// and writing them spares a redelivery.
				select {
				case out <- msgs:
				case <-ctx.Done():
				}
				return err
			}
			msgs = append(msgs, m)
		}
		select {
		case out <- msgs:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// deadMsg is a message the sink gives up on, and why.
type deadMsg struct {
	msg    jetstream.Msg
	study  string
	reason string
}

// sinkBatch is a fetched batch, decoded and checked: the rows to write,
// with their messages and studies, and the messages already dead.
type sinkBatch struct {
	msgs    []jetstream.Msg // every message fetched, for the sink's metrics
	rows    []store.MetricRow
	studies []string
	good    []jetstream.Msg
	dead    []deadMsg
}

// ackBatch is a committed write: the messages to ack and its rows.
type ackBatch struct {
	msgs []jetstream.Msg
	rows int
}

// deal splits b into one batch per writer, writer i taking the rows whose
// trial_id mod writers is i; writer 0 also takes the dead messages. A
// writer with nothing to do gets nil.
func (b *sinkBatch) deal(writers int) []*sinkBatch {
	parts := make([]*sinkBatch, writers)
	if writers == 1 {
		parts[0] = b
		return parts
	}
	part := func(i int) *sinkBatch {
		if parts[i] == nil {
			n := len(b.rows)/writers + len(b.rows)/8 + 1
			parts[i] = &sinkBatch{rows: make([]store.MetricRow, 0, n), studies: make([]string, 0, n), good: make([]jetstream.Msg, 0, n)}
		}
		return parts[i]
	}
	for j, r := range b.rows {
		p := part(int(uint64(r.TrialID) % uint64(writers)))
		p.rows = append(p.rows, r)
		p.studies = append(p.studies, b.studies[j])
		p.good = append(p.good, b.good[j])
		p.msgs = append(p.msgs, b.good[j])
	}
	if len(b.dead) > 0 {
		p := part(0)
		p.dead = b.dead
		for _, d := range b.dead {
			p.msgs = append(p.msgs, d.msg)
		}
	}
	return parts
}

// coalesce appends to b the batches already queued on in, while b holds
// fewer than max rows: under a backlog a writer's transactions grow back
// to the sink's batch size after deal split them.
func (b *sinkBatch) coalesce(in <-chan *sinkBatch, max int) *sinkBatch {
	for len(b.rows) < max {
		select {
		case more, ok := <-in:
			if !ok {
				return b
			}
			b.msgs = append(b.msgs, more.msgs...)
			b.rows = append(b.rows, more.rows...)
			b.studies = append(b.studies, more.studies...)
			b.good = append(b.good, more.good...)
			b.dead = append(b.dead, more.dead...)
		default:
			return b
		}
	}
	return b
}

// prepare decodes msgs and checks them against their stored trials. It
// returns an error only when ctx is done.
func (s *Sink) prepare(ctx context.Context, cfg events.Config, log *slog.Logger, msgs []jetstream.Msg) (*sinkBatch, error) {
	b := &sinkBatch{msgs: msgs}
	decoded := make([]DecodedMetric, 0, len(msgs))
	keep := make([]jetstream.Msg, 0, len(msgs))
	for _, m := range msgs {
		d, err := DecodeMetricRow(cfg, m.Subject(), m.Data())
		if err != nil {
			b.dead = append(b.dead, deadMsg{m, d.Study, err.Error()})
			continue
		}
		decoded = append(decoded, d)
		keep = append(keep, m)
	}

	if err := s.lookupTrials(ctx, log, decoded); err != nil {
		return nil, err
	}
	b.rows = make([]store.MetricRow, 0, len(decoded))
	b.studies = make([]string, 0, len(decoded))
	b.good = make([]jetstream.Msg, 0, len(decoded))
	for i, d := range decoded {
		ref, ok := s.trials[d.Row.TrialID]
		if err := checkTrial(d, ref, ok); err != nil {
			b.dead = append(b.dead, deadMsg{keep[i], d.Study, err.Error()})
			continue
		}
		b.rows = append(b.rows, d.Row)
		b.studies = append(b.studies, d.Study)
		b.good = append(b.good, keep[i])
	}
	return b, nil
}

// write stores b's rows in one transaction (split around rows Postgres
// refuses), dead-letters and terminates what can never be stored, and
// returns the messages to ack, whose rows have committed. It returns an
// error only when ctx is done.
func (s *Sink) write(ctx context.Context, log *slog.Logger, b *sinkBatch) ([]jetstream.Msg, error) {
	rejected, err := writeSplit(ctx, s.Writer, b.rows, func(attempt int, err error) {
		log.Warn("sink write failed; retrying", "rows", len(b.rows), "attempt", attempt, "err", err)
		sleep(ctx, backoff(attempt))
	})
	if err != nil {
		return nil, err
	}
	dead := b.dead
	for i, err := range rejected {
		dead = append(dead, deadMsg{b.good[i], b.studies[i], err.Error()})
	}
	if len(dead) > 0 {
		if err := s.deadLetter(ctx, log, dead); err != nil {
			return nil, err
		}
	}
	ack := b.good
	if len(rejected) > 0 {
		ack = make([]jetstream.Msg, 0, len(b.good)-len(rejected))
		for i, m := range b.good {
			if _, ok := rejected[i]; !ok {
				ack = append(ack, m)
			}
		}
	}
	s.observe(b.msgs, len(b.rows)-len(rejected))
	if len(b.rows) > 0 {
		log.Debug("sink wrote metrics", "rows", len(b.rows)-len(rejected), "dead", len(dead))
	}
	return ack, nil
}

// lookupTrials makes sure the cache holds every stored trial that decoded
// names, with one query for those it lacks. A failed query is retried
// until ctx is done.
func (s *Sink) lookupTrials(ctx context.Context, log *slog.Logger, decoded []DecodedMetric) error {
	if s.trials == nil {
		s.trials = make(map[int64]store.TrialRef)
	}
	var missing []int64
	seen := make(map[int64]bool)
	for _, d := range decoded {
		id := d.Row.TrialID
		if _, ok := s.trials[id]; !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		refs, err := s.Writer.TrialRefs(ctx, missing)
		if err == nil {
			if len(s.trials)+len(refs) > maxCachedTrials {
				clear(s.trials)
			}
			maps.Copy(s.trials, refs)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("sink trial lookup failed; retrying", "trials", len(missing), "attempt", attempt, "err", err)
		sleep(ctx, backoff(attempt))
	}
}

// checkTrial checks a decoded message against its stored trial: the trial
// exists, is the one the subject names, and the epoch is within its
// study's budget.
func checkTrial(d DecodedMetric, ref store.TrialRef, ok bool) error {
	id := d.Row.TrialID
	switch {
	case !ok:
		return fmt.Errorf("%w: trial_id %d names no stored trial", events.ErrPoison, id)
	case ref.Study != d.Study:
		return fmt.Errorf("%w: trial_id %d is trial %d of study %q, not of study %q that the subject names",
			events.ErrPoison, id, ref.Number, ref.Study, d.Study)
	case ref.Number != d.Trial:
		return fmt.Errorf("%w: trial_id %d is trial %d of study %q, not trial %d that the subject names",
			events.ErrPoison, id, ref.Number, ref.Study, d.Trial)
	case d.StudyID != 0 && d.StudyID != ref.StudyID:
		return fmt.Errorf("%w: study_id %d is not the id of study %q (%d)", events.ErrPoison, d.StudyID, ref.Study, ref.StudyID)
	case d.Row.Epoch > ref.MaxEpochs:
		return fmt.Errorf("%w: epoch %d must be in [1, %d], study %q's schedule.max_epochs",
			events.ErrPoison, d.Row.Epoch, ref.MaxEpochs, ref.Study)
	}
	return nil
}

// writeSplit writes rows through w. When w rejects a batch
// (store.ErrRejected) it writes each half on its own, down to single
// rows, so that every row that can be written is, and it returns the index
// and error of each row that cannot. Any other error is transient: wait is
// called and the same rows are written again, until ctx is done, when
// writeSplit returns ctx's error. A transient error never rejects a row.
func writeSplit(ctx context.Context, w MetricWriter, rows []store.MetricRow, wait func(attempt int, err error)) (map[int]error, error) {
	rejected := map[int]error{}
	var write func(base int, rows []store.MetricRow) error
	write = func(base int, rows []store.MetricRow) error {
		if len(rows) == 0 {
			return nil
		}
		for attempt := 0; ; attempt++ {
			_, err := w.WriteMetrics(ctx, rows)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, store.ErrRejected):
				if len(rows) == 1 {
					rejected[base] = fmt.Errorf("%w: %w", events.ErrPoison, err)
					return nil
				}
				mid := len(rows) / 2
				if err := write(base, rows[:mid]); err != nil {
					return err
				}
				return write(base+mid, rows[mid:])
			case ctx.Err() != nil:
				return ctx.Err()
			}
			wait(attempt, err)
		}
	}
	if err := write(0, rows); err != nil {
		return nil, err
	}
	return rejected, nil
}

// deadLetter stores the messages the sink gives up on, then terminates
// them on the stream so they are never redelivered. A transient store
// error is retried until ctx is done; a dead letter the store itself
// refuses (it should not: it cuts and cleans what it keeps) is logged and
// terminated all the same, so it cannot stall the sink.
func (s *Sink) deadLetter(ctx context.Context, log *slog.Logger, dead []deadMsg) error {
	dls := make([]store.DeadLetter, len(dead))
	for i, d := range dead {
		dls[i] = store.DeadLetter{Subject: d.msg.Subject(), Study: d.study, Reason: d.reason, Data: d.msg.Data()}
		if md, err := d.msg.Metadata(); err == nil {
			dls[i].Stream, dls[i].StreamSeq = md.Stream, md.Sequence.Stream
		}
	}
	for attempt := 0; ; attempt++ {
		err := s.Writer.WriteDeadLetters(ctx, dls)
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrRejected) {
			log.Error("sink could not store dead letters; dropping them", "count", len(dls), "err", err)
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("sink dead-letter write failed; retrying", "count", len(dls), "attempt", attempt, "err", err)
		sleep(ctx, backoff(attempt))
	}
	log.Warn("sink dead-lettered messages it can never store", "count", len(dead),
		"subject", dead[0].msg.Subject(), "reason", dead[0].reason)
	s.Metrics.DeadLetters(len(dead))
	for _, d := range dead {
		if err := d.msg.Term(); err != nil {
			log.Warn("sink term failed; the message will be redelivered", "err", err)
		}
	}
	return nil
}

// backoff is the wait before retry attempt+1 of a transient failure.
func backoff(attempt int) time.Duration {
	return min(time.Duration(attempt+1)*500*time.Millisecond, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
