package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/telemetry/telemetrytest"
)

// TestJSONLogsAreJSONLines runs Serve with --log-format json and checks
// that every line it logs is one JSON object with the level, the message,
// the process name and the attributes.
func TestJSONLogsAreJSONLines(t *testing.T) {
	var out bytes.Buffer
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	code := Serve("worker", telemetry.Worker, fs, []string{"--log-format", "json", "--log-level", "debug"}, &out, nil,
		func(ctx context.Context, log *slog.Logger, tel Telemetry) error {
			log.Debug("trial started", "study", "relu \"quoted\"\nname", "trial", 3)
			log.Info("epoch", "epoch", 1, "val_accuracy", 0.93)
			return errors.New("boom")
		})
	if code != 1 {
		t.Fatalf("exit %d, want 1 (run failed)", code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (two logged, one for the failure):\n%s", len(lines), out.String())
	}
	want := []struct{ level, msg string }{{"DEBUG", "trial started"}, {"INFO", "epoch"}, {"ERROR", "worker stopped"}}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		if rec["level"] != want[i].level || rec["msg"] != want[i].msg || rec["process"] != "worker" {
			t.Errorf("line %d: %v; want level %s, msg %q, process worker", i+1, rec, want[i].level, want[i].msg)
		}
		if _, ok := rec["time"]; !ok {
			t.Errorf("line %d has no time: %s", i+1, line)
		}
	}
	var first map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	if first["study"] != "relu \"quoted\"\nname" || first["trial"] != float64(3) {
		t.Errorf("attributes %v; want study and trial as logged", first)
	}
	var last map[string]any
	_ = json.Unmarshal([]byte(lines[2]), &last)
	if last["err"] != "boom" {
		t.Errorf("failure line %v; want err boom", last)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-format", "xml"}, nil, `--log-format: "xml" is not a format (allowed: text, json)`},
		{[]string{"--trace-endpoint", "collector"}, nil, `--trace-endpoint "collector" is neither host:port nor an http(s):// URL`},
		{[]string{"--trace-endpoint", "c:4317", "--trace-sample-ratio", "2"}, nil, "--trace-sample-ratio 2 must be in [0, 1]"},
		{nil, map[string]string{EnvTraceInsecure: "maybe"}, `RELUTUNE_TRACE_INSECURE="maybe" is not a boolean`},
		{nil, map[string]string{EnvTraceSampleRatio: "half"}, `RELUTUNE_TRACE_SAMPLE_RATIO="half" is not a number`},
		{nil, map[string]string{EnvLogFormat: "yaml"}, `--log-format: "yaml" is not a format`},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		var out bytes.Buffer
		ran := false
		code := Serve("controller", telemetry.Controller, flag.NewFlagSet("controller", flag.ContinueOnError), tc.args, &out, nil,
			func(context.Context, *slog.Logger, Telemetry) error { ran = true; return nil })
		if code != 2 || ran || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v %v: exit %d, ran %v, output %q; want exit 2 before running, with %q", tc.args, tc.env, code, ran, out.String(), tc.want)
		}
		for k := range tc.env {
			t.Setenv(k, "")
		}
	}
}

// TestServeHandsOverTelemetry: metrics always, tracing only with an
// endpoint.
func TestServeHandsOverTelemetry(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		tracing bool
	}{
		{nil, false},
		{[]string{"--trace-endpoint", "127.0.0.1:1", "--trace-insecure", "--trace-sample-ratio", "0.5"}, true},
	} {
		var got Telemetry
		code := Serve("worker", telemetry.Worker, flag.NewFlagSet("worker", flag.ContinueOnError), tc.args, io.Discard, nil,
			func(_ context.Context, _ *slog.Logger, tel Telemetry) error { got = tel; return nil })
		if code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		if got.Metrics == nil || (got.Tracing != nil) != tc.tracing {
			t.Errorf("%v: telemetry %+v; want metrics, tracing %v", tc.args, got, tc.tracing)
		}
		if tc.tracing {
			opts, err := TemporalOptions(Connections{TemporalAddress: "x:7233", Telemetry: got}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if len(opts.Interceptors) != 1 || len(opts.ConnectionOptions.DialOptions) != 1 {
				t.Errorf("Temporal options with tracing: %d interceptors, %d dial options; want 1 and 1 (tracing, metrics)",
					len(opts.Interceptors), len(opts.ConnectionOptions.DialOptions))
			}
		}
	}
	opts, err := TemporalOptions(Connections{TemporalAddress: "x:7233"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Interceptors) != 0 || len(opts.ConnectionOptions.DialOptions) != 0 {
		t.Errorf("Temporal options without telemetry have %d interceptors, %d dial options; want none", len(opts.Interceptors), len(opts.ConnectionOptions.DialOptions))
	}
}

// TestHealthEndpointServesProbesAndMetrics starts the health server on a
// real listener and scrapes it.
func TestHealthEndpointServesProbesAndMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &Health{}
	m := telemetry.New(telemetry.Controller)
	serveHealth(ctx, ln, h, m, slog.New(slog.DiscardHandler))
	base := "http://" + ln.Addr().String()
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/healthz"); got != http.StatusServiceUnavailable {
		t.Errorf("/healthz before ready: %d, want 503", got)
	}
	if got := status("/livez"); got != http.StatusOK {
		t.Errorf("/livez before ready: %d, want 200", got)
	}
	h.SetReady()
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz when ready: %d, want 200", got)
	}
	before := telemetrytest.Scrape(t, base+"/metrics")
	if v, ok := before.Value("relutune_sink_dead_letters_total"); !ok || v != 0 {
		t.Fatalf("dead letters before: %v (exported %v), want 0", v, ok)
	}
	m.DeadLetters(2)
	after := telemetrytest.Scrape(t, base+"/metrics")
	if v, _ := after.Value("relutune_sink_dead_letters_total"); v != 2 {
		t.Errorf("dead letters after: %v, want 2", v)
	}
}
