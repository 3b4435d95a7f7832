// Package dashboard serves relutune's web dashboard: the studies, each
// study's trials and charts, and each trial's epochs and per-layer
// diagnostics. It reads Postgres through a read-only store.Reader (the
// relutune_reader role) and follows NATS for live updates, which it passes
// to the pages as server-sent events. The pages draw with Apache ECharts,
// vendored and embedded (assets/echarts), so nothing is fetched from
// elsewhere and nothing is built.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/studyview"
	"github.com/relutune/relutune/workflows"
)

// Source is what the dashboard reads; a *store.Reader is one.
type Source interface {
	studyview.Source
	StudyOverviews(ctx context.Context) ([]store.StudyOverview, error)
}

// Options configure a Server.
type Options struct {
	Source Source
	// Hub delivers live updates; nil serves pages that do not follow.
	Hub *Hub
	// TemporalUI and Namespace make the links to workflows; no links when
	// TemporalUI is empty.
	TemporalUI string
	Namespace  string
	Logger     *slog.Logger
	// Heartbeat is how often an idle event stream sends a comment, so
	// proxies keep it open (default 15 s).
	Heartbeat time.Duration
}

// Server is the dashboard's HTTP handler.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	cache studyview.Cache // importances, recomputed when a trial completes
}

// New returns a dashboard over opts.Source.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.page("studies"))
	s.mux.HandleFunc("GET /study/{study}", s.page("study"))
	s.mux.HandleFunc("GET /study/{study}/trial/{trial}", s.page("trial"))
	s.mux.HandleFunc("GET /api/studies", s.apiStudies)
	s.mux.HandleFunc("GET /api/studies/{study}", s.apiStudy)
	s.mux.HandleFunc("GET /api/studies/{study}/trials/{trial}", s.apiTrial)
	s.mux.HandleFunc("GET /events", s.events)
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return s
}

// ServeHTTP serves the dashboard with headers that keep the pages to their
// own scripts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · relutune</title>
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/echarts/echarts.min.js"></script>
<script src="/assets/app.js"></script>
</head>
<body data-page="{{.Page}}" data-study="{{.Study}}" data-trial="{{.Trial}}" data-live="{{.Live}}">
<header><a href="/" class="brand">relutune</a>{{if .Study}} / <a href="/study/{{.Study}}">{{.Study}}</a>{{end}}{{if ge .Trial 0}} / trial {{.Trial}}{{end}}
<span id="live" class="live"></span></header>
<main id="main"><p class="loading">Loading…</p></main>
</body>
</html>
`))

type pageData struct {
	Title, Page, Study string
	Trial              int
	Live               bool
}

func (s *Server) page(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := pageData{Title: "studies", Page: kind, Trial: -1, Live: s.opts.Hub != nil}
		if kind != "studies" {
			study, ok := studyParam(w, r)
			if !ok {
				return
			}
			d.Study, d.Title = study, study
		}
		if kind == "trial" {
			n, ok := trialParam(w, r)
			if !ok {
				return
			}
			d.Trial = n
			d.Title = fmt.Sprintf("%s trial %d", d.Study, n)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pageTmpl.Execute(w, d); err != nil {
			s.opts.Logger.Warn("page", "err", err)
		}
	}
}

func studyParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	study := r.PathValue("study")
	if !events.IsStudyName(study) {
		http.Error(w, fmt.Sprintf("study %.64q: not a study name (allowed: ^[a-z0-9][a-z0-9-]{0,62}$)", study), http.StatusBadRequest)
		return "", false
	}
	return study, true
}

func trialParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	s := r.PathValue("trial")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<31-1 || strconv.Itoa(n) != s {
		http.Error(w, fmt.Sprintf("trial %.16q: not a trial number (allowed: 0 to %d)", s, 1<<31-1), http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.opts.Logger.Warn("write json", "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.opts.Logger.Error(what, "err", err)
	http.Error(w, what+": "+err.Error(), http.StatusInternalServerError)
}

func (s *Server) apiStudies(w http.ResponseWriter, r *http.Request) {
	studies, err := s.opts.Source.StudyOverviews(r.Context())
	if err != nil {
		s.fail(w, "studies", err)
		return
	}
	if studies == nil {
		studies = []store.StudyOverview{}
	}
	s.writeJSON(w, studies)
}

// Links are the Temporal UI's pages of a study's workflow. A trial's tries
// are activities of the study's workflow (ids trial-<n>-attempt-<k>), so
// each trial links there, with the name of its last try.
type Links struct {
	Study string `json:"study,omitempty"`
	// Trials holds each trial's link; Activities the activity id of its
	// last try, to find in the workflow's history.
	Trials     map[int]string `json:"trials,omitempty"`
	Activities map[int]string `json:"activities,omitempty"`
}

func (s *Server) workflowURL(id string) string {
	if s.opts.TemporalUI == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.TemporalUI, "/") + "/namespaces/" + url.PathEscape(s.opts.Namespace) + "/workflows/" + url.PathEscape(id)
}

// trialActivity is the activity id of a trial's last try.
func trialActivity(t store.TrialOverview) string {
	return fmt.Sprintf("trial-%d-attempt-%d", t.Trial, max(t.Attempt, 1))
}

// StudyLinks returns the workflow links of a study and its trials.
func (s *Server) StudyLinks(study string, trials []store.TrialOverview) Links {
	l := Links{Study: s.workflowURL(workflows.StudyWorkflowID(study))}
	if l.Study == "" {
		return l
	}
	l.Trials, l.Activities = map[int]string{}, map[int]string{}
	for _, t := range trials {
		l.Trials[t.Trial] = l.Study
		l.Activities[t.Trial] = trialActivity(t)
	}
	return l
}

type studyResponse struct {
	*studyview.Study
	Links Links `json:"links"`
}

func (s *Server) apiStudy(w http.ResponseWriter, r *http.Request) {
	study, ok := studyParam(w, r)
	if !ok {
		return
	}
	v, err := studyview.LoadCached(r.Context(), s.opts.Source, study, &s.cache)
	if err != nil {
		s.fail(w, "study "+study, err)
		return
	}
	s.writeJSON(w, studyResponse{Study: v, Links: s.StudyLinks(study, v.Trials)})
}

type trialResponse struct {
	Study  store.StudyOverview `json:"study"`
	Trial  store.TrialOverview `json:"trial"`
	Epochs []store.EpochRow    `json:"epochs"`
	Params []studyview.Param   `json:"params"`
	// Link is the study's workflow, where Activity names the trial's last
	// try.
	Link     string `json:"link,omitempty"`
	Activity string `json:"activity"`
}

func (s *Server) apiTrial(w http.ResponseWriter, r *http.Request) {
	study, ok := studyParam(w, r)
	if !ok {
		return
	}
	n, ok := trialParam(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ov, err := s.opts.Source.StudyOverview(ctx, study)
	if err != nil {
		s.fail(w, "study "+study, err)
		return
	}
	ts, err := s.opts.Source.TrialOverviews(ctx, study, n)
	if err != nil {
		s.fail(w, "trial", err)
		return
	}
	if len(ts) == 0 {
		s.fail(w, "trial", fmt.Errorf("%w: study %s has no trial %d", store.ErrNotFound, study, n))
		return
	}
	epochs, err := s.opts.Source.EpochRows(ctx, study, n)
	if err != nil {
		s.fail(w, "trial", err)
		return
	}
	if epochs == nil {
		epochs = []store.EpochRow{}
	}
	ps, _ := studyview.SpaceParams(ov.Spec)
	s.writeJSON(w, trialResponse{Study: ov, Trial: ts[0], Epochs: epochs, Params: ps,
		Link: s.workflowURL(workflows.StudyWorkflowID(study)), Activity: trialActivity(ts[0])})
}

// events streams the updates of one study (?study=name) or of every study
// as server-sent events, one JSON Update per event, until the client goes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.opts.Hub == nil {
		http.Error(w, "live updates are off: the dashboard has no NATS connection", http.StatusServiceUnavailable)
		return
	}
	study := r.URL.Query().Get("study")
	if study != "" && !events.IsStudyName(study) {
		http.Error(w, fmt.Sprintf("study %.64q: not a study name", study), http.StatusBadRequest)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, cancel, ok := s.opts.Hub.subscribe(study)
	if !ok {
		http.Error(w, fmt.Sprintf("too many live pages (at most %d)", MaxSubscribers), http.StatusServiceUnavailable)
		return
	}
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "retry: 2000\n: following\n\n")
	fl.Flush()
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil {
				return
			}
		case u := <-ch:
			b, err := json.Marshal(u)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: update\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}
