package controller

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/store"
)

// TestDealKeepsTrialsApart: every row goes to exactly one writer, the one
// its trial_id names, with its message and study beside it; the dead go
// to writer 0; coalescing two dealt batches keeps rows and messages in
// step.
func TestDealKeepsTrialsApart(t *testing.T) {
	b := &sinkBatch{}
	msgs := make([]jetstream.Msg, 10)
	for i := range 10 {
		b.rows = append(b.rows, store.MetricRow{TrialID: int64(i%3 + 1), Epoch: i + 1})
		b.studies = append(b.studies, "s")
		b.good = append(b.good, msgs[i])
	}
	b.dead = []deadMsg{{reason: "bad"}}
	parts := b.deal(2)
	seen := map[int]bool{}
	for w, p := range parts {
		if p == nil {
			t.Fatalf("writer %d got nothing", w)
		}
		if len(p.rows) != len(p.good) || len(p.rows) != len(p.studies) {
			t.Fatalf("writer %d: %d rows, %d messages, %d studies", w, len(p.rows), len(p.good), len(p.studies))
		}
		for _, r := range p.rows {
			if int(r.TrialID%2) != w {
				t.Errorf("trial %d dealt to writer %d", r.TrialID, w)
			}
			if seen[r.Epoch] {
				t.Errorf("row %d dealt twice", r.Epoch)
			}
			seen[r.Epoch] = true
		}
	}
	if len(seen) != 10 {
		t.Fatalf("%d of 10 rows dealt", len(seen))
	}
	if len(parts[0].dead) != 1 || len(parts[1].dead) != 0 {
		t.Fatalf("dead messages: writer 0 has %d, writer 1 %d; want 1 and 0", len(parts[0].dead), len(parts[1].dead))
	}
	if got := len(parts[0].msgs) + len(parts[1].msgs); got != 11 {
		t.Fatalf("%d messages observed, want 11", got)
	}

	in := make(chan *sinkBatch, 2)
	in <- parts[1]
	in <- (&sinkBatch{rows: []store.MetricRow{{TrialID: 9}}, studies: []string{"s"}, good: msgs[:1], msgs: msgs[:1]})
	c := parts[0].coalesce(in, len(parts[0].rows)+len(parts[1].rows))
	if len(c.rows) != 10 || len(c.good) != 10 || len(c.studies) != 10 || len(in) != 1 {
		t.Fatalf("coalesced %d rows (%d messages), %d batches left queued; want 10, 10, 1", len(c.rows), len(c.good), len(in))
	}
}
