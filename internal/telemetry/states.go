package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StateCounter returns the number of trials in each state.
type StateCounter func(ctx context.Context) (map[string]int64, error)

// stateCacheFor is how long one count serves scrapes: several Prometheus
// servers scraping every few seconds cost the database one query.
const stateCacheFor = 5 * time.Second

// trialStates is the collector of relutune_trials{state}.
type trialStates struct {
	count  StateCounter
	desc   *prometheus.Desc
	errors prometheus.Counter

	mu     sync.Mutex
	at     time.Time
	counts map[string]int64
}

// WatchTrialStates exports relutune_trials{state}, the number of stored
// trials in each state, from count, called at scrape time (at most once
// every 5 s, with a 5 s timeout). A failed count exports the last good one
// and increments relutune_trial_state_errors_total. Call it once; a nil
// *Metrics ignores it.
func (m *Metrics) WatchTrialStates(count StateCounter) {
	if m == nil {
		return
	}
	c := &trialStates{
		count: count,
		desc: prometheus.NewDesc("relutune_trials",
			"Stored trials in each state (pending, running, complete, pruned, diverged, failed, canceled), over every study.",
			[]string{"state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relutune_trial_state_errors_total",
			Help: "Scrapes whose count of trials by state failed (the last good count was exported).",
		}),
	}
	m.reg.MustRegister(c)
}

func (c *trialStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.errors.Describe(ch)
}

func (c *trialStates) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= stateCacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		counts, err := c.count(ctx)
		cancel()
		if err != nil {
			c.errors.Inc()
		} else {
			c.counts, c.at = counts, time.Now()
		}
	}
	for state, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
	c.errors.Collect(ch) // after the count, so a scrape shows its own failure
}
