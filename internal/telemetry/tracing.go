package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// ErrInvalidTracing is wrapped by TracingConfig.Validate errors.
var ErrInvalidTracing = errors.New("telemetry: invalid tracing settings")

// TracingConfig configures the export of traces. The zero value exports
// nothing.
type TracingConfig struct {
	// Endpoint is the OTLP/gRPC collector, as host:port or as a URL
	// (http://host:port for plaintext, https://host:port for TLS); empty
	// turns tracing off. The exporter also reads the standard
	// OTEL_EXPORTER_OTLP_* variables (headers, certificates, timeout).
	Endpoint string
	// Insecure sends spans to a host:port endpoint without TLS (a
	// collector beside the process or in the same cluster).
	Insecure bool
	// SampleRatio is the fraction of new traces kept, in [0, 1]; a span
	// whose parent was sampled is always kept.
	SampleRatio float64
	// Service names the process in the traces (service.name).
	Service string
}

// Enabled reports whether traces are exported.
func (c TracingConfig) Enabled() bool { return c.Endpoint != "" }

// Validate checks the endpoint and the ratio.
func (c TracingConfig) Validate() error {
	if c.SampleRatio < 0 || c.SampleRatio > 1 || c.SampleRatio != c.SampleRatio {
		return fmt.Errorf("%w: --trace-sample-ratio %v must be in [0, 1]", ErrInvalidTracing, c.SampleRatio)
	}
	if !c.Enabled() {
		return nil
	}
	if u, err := url.Parse(c.Endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if u.Host == "" {
			return fmt.Errorf("%w: --trace-endpoint %q has no host (want host:port or http(s)://host:port)", ErrInvalidTracing, c.Endpoint)
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(c.Endpoint); err != nil || port == "" {
		return fmt.Errorf("%w: --trace-endpoint %q is neither host:port nor an http(s):// URL", ErrInvalidTracing, c.Endpoint)
	}
	return nil
}

// Tracing exports the spans of a process. A nil *Tracing exports nothing.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// StartTracing starts exporting spans as c says; it returns nil, and no
// error, when c is not Enabled. The exporter connects lazily: a collector
// that is down loses spans, never blocks the process.
func StartTracing(ctx context.Context, c TracingConfig) (*Tracing, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, nil
	}
	var opts []otlptracegrpc.Option
	if u, err := url.Parse(c.Endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		opts = append(opts, otlptracegrpc.WithEndpointURL(c.Endpoint))
	} else {
		opts = append(opts, otlptracegrpc.WithEndpoint(c.Endpoint))
		if c.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter for %s: %w", c.Endpoint, err)
	}
	return NewTracing(c, sdktrace.WithBatcher(exp)), nil
}

// NewTracing returns a Tracing for c's service and sampling whose spans go
// where opts say (sdktrace.WithBatcher, or WithSyncer in tests).
func NewTracing(c TracingConfig, opts ...sdktrace.TracerProviderOption) *Tracing {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", c.Service)))
	if err != nil { // conflicting schema URLs: keep ours
		res = resource.NewSchemaless(attribute.String("service.name", c.Service))
	}
	opts = append([]sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
	}, opts...)
	return &Tracing{tp: sdktrace.NewTracerProvider(opts...)}
}

// TracerProvider returns the provider of the process's tracers (a no-op
// one on a nil *Tracing).
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// TemporalInterceptor returns the Temporal SDK's OpenTelemetry interceptor
// on t's provider: spans for starting, running and signalling workflows
// and activities, carried across processes in Temporal's headers (W3C
// trace context). Set on client.Options.Interceptors it also applies to
// every worker of that client. A nil *Tracing returns nil.
func (t *Tracing) TemporalInterceptor() (interceptor.Interceptor, error) {
	if t == nil {
		return nil, nil
	}
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.tp.Tracer("github.com/relutune/relutune"),
	})
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
