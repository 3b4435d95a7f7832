package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
)

// emptySource knows one study, "known", with no trials, and fails for
// "broken".
type emptySource struct{}

func (emptySource) StudyOverviews(context.Context) ([]store.StudyOverview, error) { return nil, nil }

func (emptySource) StudyOverview(_ context.Context, study string) (store.StudyOverview, error) {
	switch study {
	case "known":
		return store.StudyOverview{Study: study, Direction: "maximize", Spec: []byte(`{"name":"known","space":{"activation":{"choice":["relu","tanh"]}}}`)}, nil
	case "broken":
		return store.StudyOverview{}, errors.New("connection reset")
	}
	return store.StudyOverview{}, fmt.Errorf("%w: study %q", store.ErrNotFound, study)
}

func (emptySource) TrialOverviews(context.Context, string, int) ([]store.TrialOverview, error) {
	return nil, nil
}

func (emptySource) EpochRows(context.Context, string, int) ([]store.EpochRow, error) {
	return nil, nil
}

func TestHandlers(t *testing.T) {
	srv := httptest.NewServer(New(Options{Source: emptySource{}}))
	defer srv.Close()
	tests := []struct {
		path     string
		code     int
		contains string
	}{
		{"/", 200, `data-page="studies"`},
		{"/study/known", 200, `data-study="known"`},
		{"/study/Bad.Name", 400, "not a study name"},
		{"/study/known/trial/007", 400, "not a trial number"},
		{"/study/known/trial/-1", 400, "not a trial number"},
		{"/api/studies", 200, "[]"},
		{"/api/studies/nope", 404, "not found"},
		{"/api/studies/broken", 500, "connection reset"},
		{"/api/studies/known/trials/3", 404, "no trial 3"},
		{"/events", 503, "live updates are off"},
		{"/assets/echarts/LICENSE", 200, "Apache License"},
		{"/assets/app.js", 200, "EventSource"},
		{"/healthz", 200, "ok"},
		{"/nothing", 404, ""},
	}
	for _, tc := range tests {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.code || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %.120q, want %d containing %q", tc.path, res.StatusCode, body, tc.code, tc.contains)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
}

// TestEventStream follows one study's stream and checks that its updates,
// and only its, arrive as server-sent events.
func TestEventStream(t *testing.T) {
	hub := &Hub{}
	srv := httptest.NewServer(New(Options{Source: emptySource{}, Hub: hub, Heartbeat: time.Hour}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/events?study=known")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(res.Body)
	// The stream is open (and subscribed) once its greeting arrives.
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, ": following") {
			break
		}
	}
	hub.Publish(Update{Study: "other", Trial: 1, Kind: "metrics", Epoch: 1})
	hub.Publish(Update{Study: "known", Trial: 4, Kind: "metrics", Epoch: 2})
	var data string
	for data == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		data, _ = strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if strings.HasPrefix(line, ":") || strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "retry:") {
			data = ""
		}
	}
	var u Update
	if err := json.Unmarshal([]byte(data), &u); err != nil || u.Study != "known" || u.Trial != 4 || u.Epoch != 2 {
		t.Errorf("first event %q (%v), want trial 4 epoch 2 of known", data, err)
	}
	if res, err := http.Get(srv.URL + "/events?study=..bad"); err != nil || res.StatusCode != 400 {
		t.Errorf("stream of a bad study name: %v %v", res.StatusCode, err)
	}
}

func TestDecodeUpdate(t *testing.T) {
	cfg := events.Config{}.WithDefaults()
	acc := 0.5
	metrics, _ := json.Marshal(events.EpochMetrics{Study: "s", Trial: 3, Epoch: 2, Activation: "relu", EpochValues: events.EpochValues{ValAccuracy: &acc}})
	status, _ := json.Marshal(events.TrialStatus{Study: "s", Trial: 3, Status: "complete", Objective: &acc, EpochsDone: 5})
	badStatus, _ := json.Marshal(map[string]any{"status": "exploded"})
	tests := []struct {
		subject string
		data    []byte
		ok      bool
		want    Update
	}{
		{"tune.study.s.trial.3.metrics", metrics, true, Update{Study: "s", Trial: 3, Kind: "metrics", Epoch: 2, ValAccuracy: &acc, Activation: "relu"}},
		{"tune.study.s.trial.3.status", status, true, Update{Study: "s", Trial: 3, Kind: "status", Status: "complete", Objective: &acc, EpochsDone: 5}},
		{"tune.study.s.trial.3.status", badStatus, false, Update{}},
		{"tune.study.s.trial.3.metrics", []byte(`{"epoch":0}`), false, Update{}},
		{"tune.study.s.trial.3.metrics", []byte(`not json`), false, Update{}},
		{"tune.study.S!.trial.3.metrics", metrics, false, Update{}},
		{"tune.study.s.trial.x.metrics", metrics, false, Update{}},
		{"tune.study.s.trial.3.other", metrics, false, Update{}},
		{"other.study.s.trial.3.metrics", metrics, false, Update{}},
		{"tune.study.s.trial.3.metrics", make([]byte, events.MaxMessageBytes+1), false, Update{}},
	}
	for _, tc := range tests {
		got, ok := decodeUpdate(cfg, tc.subject, tc.data)
		if ok != tc.ok {
			t.Errorf("%s %.40q: ok = %v, want %v", tc.subject, tc.data, ok, tc.ok)
			continue
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(tc.want)
		if string(gb) != string(wb) {
			t.Errorf("%s: %s, want %s", tc.subject, gb, wb)
		}
	}
}

func TestHubBoundsSubscribers(t *testing.T) {
	h := &Hub{}
	var cancels []func()
	for range MaxSubscribers {
		_, cancel, ok := h.subscribe("")
		if !ok {
			t.Fatal("refused before the bound")
		}
		cancels = append(cancels, cancel)
	}
	if _, _, ok := h.subscribe(""); ok {
		t.Errorf("subscriber %d accepted, bound is %d", MaxSubscribers+1, MaxSubscribers)
	}
	cancels[0]()
	if _, _, ok := h.subscribe(""); !ok {
		t.Error("refused after one left")
	}
	// A full subscriber does not block Publish.
	for range subscriberBuffer + 10 {
		h.Publish(Update{Study: "s"})
	}
}
