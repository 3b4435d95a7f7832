// Package watch implements `tunectl watch`: live progress of a study's
// trials from the NATS metric stream.
package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/relutune/relutune/search"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/workflows"
)

// EventStream follows a study's event messages (metrics and trial
// statuses) in order, from the first one kept.
type EventStream interface {
	Follow(ctx context.Context, study string) (Subscription, error)
}

// Subscription yields messages until Stop; Next blocks for the next one
// and fails once the subscription ends.
type Subscription interface {
	Next() (subject string, data []byte, err error)
	Stop()
}

// WorkflowDescriber is the part of the Temporal client that tells whether
// a study's workflow runs; a client.Client is one.
type WorkflowDescriber interface {
	DescribeWorkflow(ctx context.Context, workflowID, runID string) (*client.WorkflowExecutionDescription, error)
}

// Options are watch's inputs.
type Options struct {
	IO       *cmdutil.IOStreams
	Events   func(context.Context) (EventStream, error)
	Temporal func(context.Context) (WorkflowDescriber, error)
	Study    string
	// Poll is how often the study's workflow is checked for completion.
	Poll time.Duration
	// Linger is how long messages are still read after the workflow
	// closed, for the last ones to arrive.
	Linger time.Duration
}

// NewCmdWatch returns the watch command.
func NewCmdWatch(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO: f.IO,
		Events: func(context.Context) (EventStream, error) {
			js, err := f.JetStream()
			if err != nil {
				return nil, err
			}
			return jetStreamEvents{js: js, cfg: f.Events}, nil
		},
		Temporal: func(ctx context.Context) (WorkflowDescriber, error) {
			tc, err := f.Temporal(ctx)
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
		Poll:   time.Second,
		Linger: 2 * time.Second,
	}
	cmd := &cobra.Command{
		Use:   "watch <study>",
		Short: "Follow a study live: a progress bar per running trial, until it finishes",
		Long: `Follow a study live from the NATS metric stream: one progress bar per running
trial with its latest validation metrics, and a line as each trial ends. On a
terminal the bars redraw in place; otherwise each epoch prints one line. It
returns when the study's workflow closes (or on Ctrl-C).`,
		Example: "  tunectl watch relu-variants-mnist",
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runWatch(cmd.Context(), opts)
		},
	}
	return cmd
}

type trialView struct {
	number     int
	activation string
	epoch      int
	maxEpochs  int
	valAcc     *float64
	valLoss    *float64
	status     search.State
	objective  *float64
}

// Board is the state watch renders; it is fed messages in any order.
type Board struct {
	trials map[int]*trialView
	done   int
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{trials: map[int]*trialView{}} }

func (b *Board) view(n int) *trialView {
	v, ok := b.trials[n]
	if !ok {
		v = &trialView{number: n, status: search.Running}
		b.trials[n] = v
	}
	return v
}

// Apply folds one message into the board and returns a one-line
// description of what changed ("" when nothing did), and whether the
// message ended a trial.
func (b *Board) Apply(subject string, data []byte) (line string, ended bool) {
	switch {
	case strings.HasSuffix(subject, ".metrics"):
		var m events.EpochMetrics
		if json.Unmarshal(data, &m) != nil {
			return "", false
		}
		v := b.view(m.Trial)
		if m.Epoch <= v.epoch && v.status == search.Running {
			return "", false
		}
		if m.Epoch > v.epoch {
			v.epoch, v.valAcc, v.valLoss = m.Epoch, m.ValAccuracy, m.ValLoss
		}
		v.maxEpochs, v.activation = m.MaxEpochs, m.Activation
		return fmt.Sprintf("trial %-3d %-10s epoch %d/%d  val_acc %s  val_loss %s", m.Trial, m.Activation, m.Epoch, m.MaxEpochs,
			cmdutil.FormatFloat(m.ValAccuracy), cmdutil.FormatFloat(m.ValLoss)), false
	case strings.HasSuffix(subject, ".status"):
		var s events.TrialStatus
		if json.Unmarshal(data, &s) != nil {
			return "", false
		}
		v := b.view(s.Trial)
		if v.status != search.Running {
			return "", false
		}
		v.status, v.objective = s.Status, s.Objective
		if v.activation == "" {
			v.activation = s.Activation
		}
		if s.EpochsDone > v.epoch {
			v.epoch = s.EpochsDone
		}
		b.done++
		line := fmt.Sprintf("trial %-3d %-10s %s after %d epochs, objective %s", s.Trial, v.activation, s.Status, s.EpochsDone, cmdutil.FormatFloat(s.Objective))
		if s.Error != "" {
			line += ": " + s.Error
		}
		return line, true
	}
	return "", false
}

// Render draws a progress bar per running trial.
func (b *Board) Render(w io.Writer, width int) int {
	var running []*trialView
	for _, v := range b.trials {
		if v.status == search.Running {
			running = append(running, v)
		}
	}
	sort.Slice(running, func(i, j int) bool { return running[i].number < running[j].number })
	fmt.Fprintf(w, "%d trial(s) finished, %d running\n", b.done, len(running))
	for _, v := range running {
		fmt.Fprintf(w, "trial %-4d %-10s %s %d/%d  val_acc %s\n", v.number, v.activation, bar(v.epoch, v.maxEpochs, width), v.epoch, v.maxEpochs, cmdutil.FormatFloat(v.valAcc))
	}
	return len(running) + 1
}

func bar(done, total, width int) string {
	if total <= 0 {
		total = 1
	}
	n := min(done*width/total, width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// jetStreamEvents follows a study's subjects of the events stream.
type jetStreamEvents struct {
	js  jetstream.JetStream
	cfg events.Config
}

func (e jetStreamEvents) Follow(ctx context.Context, study string) (Subscription, error) {
	stream := e.cfg.Stream
	if stream == "" {
		stream = events.DefaultStream
	}
	cons, err := e.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{e.cfg.StudySubjects(study)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, err
	}
	msgs, err := cons.Messages()
	if err != nil {
		return nil, err
	}
	return jetStreamSub{msgs}, nil
}

type jetStreamSub struct{ it jetstream.MessagesContext }

func (s jetStreamSub) Next() (string, []byte, error) {
	m, err := s.it.Next()
	if err != nil {
		return "", nil, err
	}
	return m.Subject(), m.Data(), nil
}

func (s jetStreamSub) Stop() { s.it.Stop() }

func runWatch(ctx context.Context, opts *Options) error {
	tc, err := opts.Temporal(ctx)
	if err != nil {
		return err
	}
	id := workflows.StudyWorkflowID(opts.Study)
	if _, err := tc.DescribeWorkflow(ctx, id, ""); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("study %s: no workflow %s (is the study name right? tunectl list shows them): %w", opts.Study, id, err)
		}
		return fmt.Errorf("study %s: %w", opts.Study, err)
	}
	es, err := opts.Events(ctx)
	if err != nil {
		return err
	}
	msgs, err := es.Follow(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("watch %s: %w", opts.Study, err)
	}
	defer msgs.Stop()

	type item struct {
		subject string
		data    []byte
	}
	ch := make(chan item, 256)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(ch)
		for {
			subject, data, err := msgs.Next()
			if err != nil {
				return
			}
			select {
			case ch <- item{subject, data}:
			case <-done:
				return
			}
		}
	}()

	board := NewBoard()
	out := opts.IO.Out
	drawn := 0
	redraw := func() {
		if !opts.IO.IsTerminal {
			return
		}
		if drawn > 0 {
			fmt.Fprintf(out, "\x1b[%dA\x1b[J", drawn)
		}
		drawn = board.Render(out, 30)
	}
	poll := time.NewTicker(opts.Poll)
	defer poll.Stop()
	closedAt := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case it, ok := <-ch:
			if !ok {
				return errors.New("watch: the metric stream closed")
			}
			line, ended := board.Apply(it.subject, it.data)
			if line == "" {
				continue
			}
			if opts.IO.IsTerminal {
				if ended { // keep the trial's last line above the bars
					if drawn > 0 {
						fmt.Fprintf(out, "\x1b[%dA\x1b[J", drawn)
						drawn = 0
					}
					fmt.Fprintln(out, line)
				}
				redraw()
			} else {
				fmt.Fprintln(out, line)
			}
		case <-poll.C:
			if !closedAt.IsZero() {
				// Give the stream a moment to deliver the last messages.
				if time.Since(closedAt) > opts.Linger {
					d, err := tc.DescribeWorkflow(ctx, id, "")
					if err == nil {
						fmt.Fprintf(out, "study %s finished: %s\n", opts.Study, strings.ToLower(d.Status.String()))
					}
					return nil
				}
				continue
			}
			d, err := tc.DescribeWorkflow(ctx, id, "")
			if err == nil && d.WorkflowCloseTime != nil {
				closedAt = time.Now()
			}
		}
	}
}
