package controller

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// observe reports a handled batch to s.Metrics: the rows written, the lag
// of its oldest message (stream arrival to now) and the messages the
// stream still holds for the sink after the batch's newest one, unless a
// batch of newer messages has reported that already.
func (s *Sink) observe(msgs []jetstream.Msg, written int) {
	if s.Metrics == nil || len(msgs) == 0 {
		return
	}
	var oldest time.Time
	pending := int64(-1)
	var newest uint64
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		if oldest.IsZero() || md.Timestamp.Before(oldest) {
			oldest = md.Timestamp
		}
		if md.Sequence.Stream >= newest {
			newest, pending = md.Sequence.Stream, int64(md.NumPending)
		}
	}
	if pending >= 0 {
		s.pendingMu.Lock()
		if newest < s.pendingSeq {
			pending = -1 // a later batch has reported already
		} else {
			s.pendingSeq = newest
		}
		s.pendingMu.Unlock()
	}
	s.Metrics.SinkBatch(written, oldest, pending)
}
