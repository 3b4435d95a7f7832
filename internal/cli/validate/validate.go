// Package validate implements `tunectl validate`, and the reading and
// checking of a spec that `tunectl submit` shares.
package validate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

// Options are validate's inputs.
type Options struct {
	IO   *cmdutil.IOStreams
	File string
	// Name, when set, replaces the spec's name.
	Name string
	// MaxTrialMemory is the budget of one trial's estimated peak memory.
	MaxTrialMemory int64
}

// NewCmdValidate returns the validate command; runF replaces the default
// action in tests.
func NewCmdValidate(io *cmdutil.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io, MaxTrialMemory: spec.DefaultMaxTrialMemory}
	cmd := &cobra.Command{
		Use:   "validate <study.yaml>",
		Short: "Check a study spec without starting anything",
		Long: `Check a study spec (YAML or JSON; "-" reads standard input) as submit does,
without connecting to any service: every field, every value the space can
produce (each choice and both ends of each range, combined as the conditions
allow), and the estimated peak memory of one trial at the largest batch and
widest model the space allows, against --max-trial-memory.

A valid spec prints a summary and exits 0; an invalid one prints every error
found and exits 1. Nothing is written or started.`,
		Example: `  tunectl validate examples/quickstart.yaml
  tunectl validate study.yaml --max-trial-memory 8GiB`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "check with this study name instead of the spec's")
	AddMemoryFlag(cmd.Flags(), &opts.MaxTrialMemory)
	return cmd
}

// AddMemoryFlag adds --max-trial-memory, bound to v.
func AddMemoryFlag(fs *pflag.FlagSet, v *int64) {
	fs.Var(memoryFlag{v}, "max-trial-memory", "refuse a spec whose most demanding trial is estimated to need more memory than this (512MiB, 4GiB, ...)")
}

type memoryFlag struct{ v *int64 }

func (m memoryFlag) String() string {
	if m.v == nil {
		return ""
	}
	return strings.ReplaceAll(trainer.FormatBytes(*m.v), " ", "")
}

func (m memoryFlag) Set(s string) error {
	b, err := trainer.ParseBytes(s)
	if err != nil {
		return err
	}
	*m.v = b
	return nil
}

func (m memoryFlag) Type() string { return "size" }

// Run checks the spec and prints its summary.
func Run(opts *Options) error {
	sp, rep, err := ReadSpec(opts.IO.In, opts.File, opts.Name, spec.Options{MaxTrialMemory: opts.MaxTrialMemory})
	if err != nil {
		return err
	}
	return Summary(opts.IO.Out, opts.File, sp, rep)
}

// ReadSpec reads a spec file ("-" for in), at most spec.MaxFileSize bytes
// of it, replaces its name with name when name is not empty, and checks it
// with opts. The error names the file and lists every problem found.
func ReadSpec(in io.Reader, path, name string, opts spec.Options) (*spec.Spec, *spec.Report, error) {
	data, err := read(in, path)
	if err != nil {
		return nil, nil, fmt.Errorf("read spec: %w", err)
	}
	sp, err := spec.Decode(data)
	var rep *spec.Report
	if err == nil {
		if name != "" {
			sp.Name = name
		}
		rep, err = sp.Check(opts)
	}
	if err != nil {
		return nil, nil, prefixed(path, err)
	}
	return sp, rep, nil
}

// read returns the contents of path ("-" for in), refusing more than
// spec.MaxFileSize bytes without reading them all.
func read(in io.Reader, path string) ([]byte, error) {
	r := in
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, spec.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > spec.MaxFileSize {
		return nil, fmt.Errorf("%s: %w: the file is larger than %d bytes (at most %d allowed)", path, spec.ErrInvalid, spec.MaxFileSize, spec.MaxFileSize)
	}
	return data, nil
}

// prefixed puts "path: " before each of the errors err joins.
func prefixed(path string, err error) error {
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) {
		return fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for _, e := range j.Unwrap() {
		errs = append(errs, fmt.Errorf("%s: %w", path, e))
	}
	return errors.Join(errs...)
}

// Summary prints what a study of sp would run.
func Summary(w io.Writer, path string, sp *spec.Spec, rep *spec.Report) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("%s: valid spec of study %s", path, sp.Name)
	p("  trials:       %d (%d replicate(s) per configuration), %s search, parallelism %d",
		rep.Trials, rep.Replicates, sp.Search.Algorithm, sp.Search.Parallelism)
	p("  parameters:   %d: %s", len(rep.Parameters), strings.Join(rep.Parameters, ", "))
	p("  checked:      %d configurations (every choice and both ends of every range, as the conditions combine them)", rep.Checked)
	if rep.MemoryUnknown != "" {
		p("  peak memory:  not estimated here (%s); each worker checks it against its own limit", rep.MemoryUnknown)
		return nil
	}
	budget := "no budget"
	if rep.Budget > 0 {
		budget = "budget " + trainer.FormatBytes(rep.Budget)
	}
	p("  peak memory:  %s per trial (%s), at %s", trainer.FormatBytes(rep.Memory.Total()), budget, rep.Worst)
	p("  driven by:    %s", strings.Join(rep.Drivers, ", "))
	p("  breakdown:    %s", rep.Memory)
	return nil
}
