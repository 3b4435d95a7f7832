package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relutune/relutune/workflows"
)

// Defaults of a running trial's heartbeats.
const (
	// DefaultHeartbeatEvery is how often a running trial heartbeats while it
	// makes progress. Cancellation reaches an activity only in a heartbeat's
	// reply, so this (with the worker's heartbeat throttle, see
	// DefaultHeartbeatThrottle) bounds how late a trial sees a cancel.
	DefaultHeartbeatEvery = time.Second
	// DefaultStallAfter is the stall window when the activity has no
	// heartbeat timeout; otherwise the window is the heartbeat timeout.
	DefaultStallAfter = 30 * time.Second
)

// errStalled cancels a trial's training once its attempt has made no
// progress for so long that the server has timed it out.
var errStalled = errors.New("no training progress: the attempt was abandoned after its heartbeat timeout")

// heartbeatPump heartbeats a running trial only while it makes progress.
//
// Progress is a counter that the trainer bumps after every batch and the
// activity after every published epoch and every checkpoint. Each tick the
// pump heartbeats when the counter moved within the stall window (by
// default the activity's heartbeat timeout). A trial that stops making
// progress (a publish that cannot complete, a callback that never returns,
// a lost disk) stops heartbeating once the window has passed, so Temporal
// times the attempt out a heartbeat timeout later and retries it on another
// worker: a stuck trial is retried after at most the stall window plus the
// heartbeat timeout (60 s with the defaults). Short pauses (evaluating an
// epoch, a rung report, a publish retried across a NATS restart) stay
// inside the window and keep heartbeats, and with them cancellation,
// flowing. Once the pause has lasted twice the heartbeat timeout more, the
// server has surely timed the attempt out, and the pump cancels the
// training so that the attempt's goroutines end too.
type heartbeatPump struct {
	progress atomic.Uint64
	mu       sync.Mutex
	details  workflows.TrainProgress
}

// advance records progress.
func (p *heartbeatPump) advance() { p.progress.Add(1) }

// set replaces the heartbeat details.
func (p *heartbeatPump) set(d workflows.TrainProgress) {
	p.mu.Lock()
	p.details = d
	p.mu.Unlock()
}

// update changes the heartbeat details under the pump's lock and returns
// the new details.
func (p *heartbeatPump) update(f func(*workflows.TrainProgress)) workflows.TrainProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.details)
	return p.details
}

func (p *heartbeatPump) get() workflows.TrainProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.details
}

// pumpConfig configures heartbeatPump.run.
type pumpConfig struct {
	every      time.Duration // tick
	stallAfter time.Duration // no heartbeats once progress is older
	// abandonAfter, when > 0, is how long after the stall window the pump
	// calls abandon and returns.
	abandonAfter time.Duration
	record       func(workflows.TrainProgress)
	abandon      func()
	log          *slog.Logger
}

// pumpAction is what one tick of the pump does.
type pumpAction int

const (
	pumpBeat    pumpAction = iota // record a heartbeat
	pumpQuiet                     // stalled: no heartbeat
	pumpAbandon                   // stalled past the heartbeat timeout: give up
)

// pumpClock is the pump's view of progress, owned by the goroutine that
// runs it.
type pumpClock struct {
	seen    uint64    // progress counter at the last change
	seenAt  time.Time // when the change was seen
	stalled bool
}

// tick decides what the pump does at now.
func (p *heartbeatPump) tick(clk *pumpClock, now time.Time, c pumpConfig) pumpAction {
	if n := p.progress.Load(); n != clk.seen {
		clk.seen, clk.seenAt = n, now
		if clk.stalled {
			clk.stalled = false
			c.log.Info("training progresses again; heartbeats resume")
		}
	}
	idle := now.Sub(clk.seenAt)
	if idle <= c.stallAfter {
		return pumpBeat
	}
	if !clk.stalled {
		clk.stalled = true
		c.log.Warn("no training progress; heartbeats stop so that the attempt times out and is retried",
			"idle", idle.Round(time.Millisecond), "stall_after", c.stallAfter)
	}
	if c.abandonAfter > 0 && idle > c.stallAfter+c.abandonAfter {
		c.log.Error("abandoning the attempt: its heartbeat timeout has passed without progress",
			"idle", idle.Round(time.Millisecond))
		return pumpAbandon
	}
	return pumpQuiet
}

// run heartbeats every c.every until ctx ends or the trial is abandoned.
func (p *heartbeatPump) run(ctx context.Context, c pumpConfig) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	clk := &pumpClock{seen: p.progress.Load(), seenAt: time.Now()}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			switch p.tick(clk, now, c) {
			case pumpBeat:
				c.record(p.get())
			case pumpAbandon:
				c.abandon()
				return
			}
		}
	}
}
