package telemetry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/internal/telemetry"
)

func TestTracingConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    telemetry.TracingConfig
		want string // "" when valid
	}{
		{telemetry.TracingConfig{}, ""},
		{telemetry.TracingConfig{Endpoint: "otel-collector:4317", SampleRatio: 1}, ""},
		{telemetry.TracingConfig{Endpoint: "http://otel-collector:4317", SampleRatio: 0.1}, ""},
		{telemetry.TracingConfig{Endpoint: "https://otlp.example.com", SampleRatio: 0}, ""},
		{telemetry.TracingConfig{Endpoint: "otel-collector", SampleRatio: 1}, `--trace-endpoint "otel-collector" is neither host:port nor an http(s):// URL`},
		{telemetry.TracingConfig{Endpoint: "http://", SampleRatio: 1}, `--trace-endpoint "http://" has no host`},
		{telemetry.TracingConfig{SampleRatio: 1.5}, "--trace-sample-ratio 1.5 must be in [0, 1]"},
		{telemetry.TracingConfig{Endpoint: "c:4317", SampleRatio: -0.1}, "--trace-sample-ratio -0.1 must be in [0, 1]"},
	} {
		err := tc.c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, telemetry.ErrInvalidTracing)):
			t.Errorf("%+v: error %v, want one wrapping ErrInvalidTracing with %q", tc.c, err, tc.want)
		}
	}
}

func TestTracingOffWithoutEndpoint(t *testing.T) {
	tr, err := telemetry.StartTracing(context.Background(), telemetry.TracingConfig{SampleRatio: 1})
	if err != nil || tr != nil {
		t.Fatalf("StartTracing without an endpoint: %v, %v; want nil, nil", tr, err)
	}
	if i, err := tr.TemporalInterceptor(); i != nil || err != nil {
		t.Fatalf("nil tracing gave interceptor %v, %v", i, err)
	}
}

// TestTemporalInterceptorTracesActivities runs an activity through the
// Temporal SDK with the interceptor and checks the span it exports.
func TestTemporalInterceptorTracesActivities(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.NewTracing(telemetry.TracingConfig{Service: "relutune-test", SampleRatio: 1}, sdktrace.WithSyncer(exp))
	defer tr.Shutdown(context.Background())
	icpt, err := tr.TemporalInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{icpt}})
	env.RegisterActivityWithOptions(func(ctx context.Context) (string, error) { return "ok", nil },
		activity.RegisterOptions{Name: "Greet"})
	if _, err := env.ExecuteActivity("Greet"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
		if s.Name == "RunActivity:Greet" {
			if v, ok := s.Resource.Set().Value("service.name"); !ok || v.AsString() != "relutune-test" {
				t.Errorf("span's service.name %q, want relutune-test", v.AsString())
			}
			return
		}
	}
	t.Fatalf("spans %q; want RunActivity:Greet", names)
}
