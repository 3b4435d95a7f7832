package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	tests := []struct {
		addr    string
		want    string
		wantErr bool
	}{
		{addr: ":8080", want: "http://127.0.0.1:8080/healthz"},
		{addr: "0.0.0.0:9000", want: "http://127.0.0.1:9000/healthz"},
		{addr: "[::]:8081", want: "http://127.0.0.1:8081/healthz"},
		{addr: "10.1.2.3:8080", want: "http://10.1.2.3:8080/healthz"},
		{addr: "[::1]:8080", want: "http://[::1]:8080/healthz"},
		{addr: "8080", wantErr: true},
		{addr: "localhost:", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := healthURL(tt.addr)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("healthURL(%q) = %q, want an error", tt.addr, got)
				}
				if !strings.Contains(err.Error(), "RELUTUNE_HTTP_ADDR") {
					t.Errorf("error %q does not name RELUTUNE_HTTP_ADDR", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("healthURL(%q): %v", tt.addr, err)
			}
			if got != tt.want {
				t.Errorf("healthURL(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer healthy.Close()
	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nats: not connected", http.StatusServiceUnavailable)
	}))
	defer unhealthy.Close()

	// A port that was listening and is now closed: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	_, healthyPort, _ := net.SplitHostPort(strings.TrimPrefix(healthy.URL, "http://"))

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       int
		wantStderr string
	}{
		{name: "200 via -url", args: []string{"-url", healthy.URL + "/healthz"}, want: 0},
		{name: "200 via RELUTUNE_HTTP_ADDR", env: map[string]string{"RELUTUNE_HTTP_ADDR": ":" + healthyPort}, want: 0},
		{name: "wrong path is 404", args: []string{"-url", healthy.URL + "/nope"}, want: 1, wantStderr: "404"},
		{name: "503", args: []string{"-url", unhealthy.URL + "/healthz"}, want: 1, wantStderr: "not connected"},
		{name: "connection refused", args: []string{"-url", "http://" + closedAddr + "/healthz"}, want: 1, wantStderr: "refused"},
		{name: "bad RELUTUNE_HTTP_ADDR", env: map[string]string{"RELUTUNE_HTTP_ADDR": "8080"}, want: 2, wantStderr: "RELUTUNE_HTTP_ADDR"},
		{name: "stray argument", args: []string{"extra"}, want: 2, wantStderr: `"extra"`},
		{name: "zero timeout", args: []string{"-timeout", "0s"}, want: 2, wantStderr: "-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			getenv := func(k string) string { return tt.env[k] }
			got := run(tt.args, getenv, &stderr)
			if got != tt.want {
				t.Fatalf("run(%q) = %d, want %d; stderr: %s", tt.args, got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
