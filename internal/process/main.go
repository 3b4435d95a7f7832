package process

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/relutune/relutune/internal/telemetry"
)

// Environment variables of the settings Serve adds.
const (
	EnvLogLevel         = "RELUTUNE_LOG_LEVEL"
	EnvLogFormat        = "RELUTUNE_LOG_FORMAT"
	EnvTraceEndpoint    = "RELUTUNE_TRACE_ENDPOINT"
	EnvTraceInsecure    = "RELUTUNE_TRACE_INSECURE"
	EnvTraceSampleRatio = "RELUTUNE_TRACE_SAMPLE_RATIO"
)

// Telemetry is what a long-running process reports about itself: its
// Prometheus metrics (served on /metrics by ServeHealth) and, when turned
// on, traces of its Temporal calls. The zero value reports nothing.
type Telemetry struct {
	Metrics *telemetry.Metrics
	Tracing *telemetry.Tracing // nil: tracing off
}

// Serve is the shared body of the long-running binaries: it adds
// --log-level, --log-format and the tracing flags to fs, parses args,
// checks them with validate (may be nil), and calls run with a logger, the
// process's telemetry and a context canceled on SIGINT or SIGTERM. It
// returns the process exit code: 0 ok, 1 run failed, 2 usage.
func Serve(name string, role telemetry.Role, fs *flag.FlagSet, args []string, stderr io.Writer, validate func() error,
	run func(ctx context.Context, log *slog.Logger, tel Telemetry) error) int {
	level := fs.String("log-level", Env(EnvLogLevel, "info"), "log level: debug, info, warn, error (env "+EnvLogLevel+")")
	format := fs.String("log-format", Env(EnvLogFormat, LogText), "log format: text or json, one object per line (env "+EnvLogFormat+")")
	tc := telemetry.TracingConfig{Service: "relutune-" + name}
	var envErr error
	fs.StringVar(&tc.Endpoint, "trace-endpoint", Env(EnvTraceEndpoint, ""),
		"OTLP/gRPC collector to send traces of Temporal calls to, host:port or http(s)://host:port; empty: tracing off (env "+EnvTraceEndpoint+")")
	fs.BoolVar(&tc.Insecure, "trace-insecure", envBool(EnvTraceInsecure, &envErr),
		"send traces to a host:port --trace-endpoint without TLS (env "+EnvTraceInsecure+")")
	fs.Float64Var(&tc.SampleRatio, "trace-sample-ratio", envFloat(EnvTraceSampleRatio, 1, &envErr),
		"fraction of new traces kept, 0 to 1 (env "+EnvTraceSampleRatio+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if envErr != nil {
		return usage(envErr)
	}
	if validate != nil {
		if err := validate(); err != nil {
			return usage(err)
		}
	}
	log, err := NewLogger(stderr, *level, *format)
	if err != nil {
		return usage(err)
	}
	if err := tc.Validate(); err != nil {
		return usage(err)
	}
	log = log.With("process", name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel := Telemetry{Metrics: telemetry.New(role)}
	if tel.Tracing, err = telemetry.StartTracing(ctx, tc); err != nil {
		return usage(err)
	}
	if tel.Tracing != nil {
		log.Info("tracing on", "endpoint", tc.Endpoint, "sample_ratio", tc.SampleRatio)
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := tel.Tracing.Shutdown(sctx); err != nil {
				log.Warn("flushing traces", "err", err)
			}
		}()
	}
	if err := run(ctx, log, tel); err != nil {
		log.Error(name+" stopped", "err", err)
		return 1
	}
	return 0
}

// envBool returns the boolean in the environment variable key, false when
// unset; a value that does not parse is joined to *errs.
func envBool(key string, errs *error) bool {
	v := os.Getenv(key)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = errors.Join(*errs, fmt.Errorf("%s=%q is not a boolean (allowed: true, false, 1, 0)", key, v))
	}
	return b
}

// envFloat returns the number in the environment variable key, def when
// unset; a value that does not parse is joined to *errs.
func envFloat(key string, def float64, errs *error) float64 {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		*errs = errors.Join(*errs, fmt.Errorf("%s=%q is not a number", key, v))
		return def
	}
	return f
}
