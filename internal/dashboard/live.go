package dashboard

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/search"
)

// Update is what the pages of a study hear when one of its trials reports
// an epoch or a final status. The page applies it to its table at once and
// then reloads the study (the metrics sink may not have stored the epoch
// yet when the message arrives).
type Update struct {
	Study       string   `json:"study"`
	Trial       int      `json:"trial"`
	Kind        string   `json:"kind"` // metrics or status
	Activation  string   `json:"activation,omitempty"`
	Epoch       int      `json:"epoch,omitempty"`
	ValAccuracy *float64 `json:"val_accuracy,omitempty"`
	ValLoss     *float64 `json:"val_loss,omitempty"`
	TrainLoss   *float64 `json:"train_loss,omitempty"`
	Status      string   `json:"status,omitempty"`
	Objective   *float64 `json:"objective,omitempty"`
	EpochsDone  int      `json:"epochs_done,omitempty"`
}

// subscriberBuffer is how many updates a slow page may fall behind before
// further ones are dropped for it (it reloads the whole study anyway).
const subscriberBuffer = 64

// MaxSubscribers bounds the live connections a dashboard serves at once.
const MaxSubscribers = 256

// Hub fans updates out to the pages following them. The zero value is
// ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[chan Update]string // channel -> study, "" for every study
}

// Publish sends u to every page following its study or every study,
// without blocking: a page whose buffer is full misses it.
func (h *Hub) Publish(u Update) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, study := range h.subs {
		if study != "" && study != u.Study {
			continue
		}
		select {
		case ch <- u:
		default:
		}
	}
}

// subscribe follows study ("" for all); ok is false when MaxSubscribers
// pages already follow.
func (h *Hub) subscribe(study string) (ch chan Update, cancel func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= MaxSubscribers {
		return nil, nil, false
	}
	if h.subs == nil {
		h.subs = map[chan Update]string{}
	}
	ch = make(chan Update, subscriberBuffer)
	h.subs[ch] = study
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, ch)
	}, true
}

// FollowNATS subscribes to every study's subjects on nc and publishes
// their messages to h until the returned subscription is unsubscribed. It
// reads the messages the workers and the controller publish
// (events.EpochMetrics, events.TrialStatus); messages that are too large or
// do not decode are ignored.
func FollowNATS(nc *nats.Conn, cfg events.Config, h *Hub) (*nats.Subscription, error) {
	cfg = cfg.WithDefaults()
	return nc.Subscribe(cfg.Prefix+".study.>", func(m *nats.Msg) {
		if u, ok := decodeUpdate(cfg, m.Subject, m.Data); ok {
			h.Publish(u)
		}
	})
}

func decodeUpdate(cfg events.Config, subject string, data []byte) (Update, bool) {
	if len(data) > events.MaxMessageBytes {
		return Update{}, false
	}
	tok := strings.Split(subject, ".")
	if len(tok) != 6 || tok[0] != cfg.Prefix || tok[1] != "study" || tok[3] != "trial" || !events.IsStudyName(tok[2]) {
		return Update{}, false
	}
	trial, err := strconv.Atoi(tok[4])
	if err != nil || trial < 0 {
		return Update{}, false
	}
	u := Update{Study: tok[2], Trial: trial, Kind: tok[5]}
	switch tok[5] {
	case "metrics":
		var m events.EpochMetrics
		if json.Unmarshal(data, &m) != nil || m.Epoch < 1 || m.Epoch > events.MaxEpoch {
			return Update{}, false
		}
		u.Activation, u.Epoch = clip(m.Activation, events.MaxActivationBytes), m.Epoch
		u.ValAccuracy, u.ValLoss, u.TrainLoss = m.ValAccuracy, m.ValLoss, m.TrainLoss
	case "status":
		var s events.TrialStatus
		if json.Unmarshal(data, &s) != nil || !knownState(s.Status) {
			return Update{}, false
		}
		u.Activation, u.Status, u.Objective, u.EpochsDone = clip(s.Activation, events.MaxActivationBytes), string(s.Status), s.Objective, s.EpochsDone
	default:
		return Update{}, false
	}
	return u, true
}

func knownState(s search.State) bool {
	_, err := search.ParseState(string(s))
	return err == nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
