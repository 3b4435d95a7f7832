package search

import "testing"

func TestParseStates(t *testing.T) {
	for _, s := range States() {
		got, err := ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range StudyStates() {
		got, err := ParseStudyState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseStudyState(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "Running", "done", "stopping "} {
		if _, err := ParseState(bad); err == nil {
			t.Errorf("ParseState(%q) accepted", bad)
		}
		if _, err := ParseStudyState(bad); err == nil {
			t.Errorf("ParseStudyState(%q) accepted", bad)
		}
	}
	if StudyRunning.Final() || StudyStopping.Final() || !StudyStopped.Final() || !Canceled.Final() || Running.Final() {
		t.Error("Final() disagrees with the lifecycle")
	}
}
