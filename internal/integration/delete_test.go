package integration

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/workflows"
)

// TestDeleteFreesTheName runs a study, deletes it, and finds nothing left
// of it (rows, stream messages, workflow); the same name then runs again.
// An unknown study is refused (a running one: the unit tests).
func TestDeleteFreesTheName(t *testing.T) {
	e := Start(t, 2)
	name := "it-delete-" + e.DBName[len("relutune_it_"):]
	path := writeSpec(t, name, fourTrials)
	if code, out, errOut := e.Tunectl(t, "", "submit", path); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" {
		t.Fatalf("study: %+v", res)
	}
	waitMetrics(t, e, name, 12)
	if code, _, errOut := e.Tunectl(t, "", "delete", name); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("delete without --yes exited %d: %s", code, errOut)
	}
	code, out, errOut := e.Tunectl(t, "", "delete", name, "--yes")
	if code != 0 || !strings.Contains(out, "deleted study "+name+": 4 trials") {
		t.Fatalf("delete exited %d: %s%s", code, out, errOut)
	}
	ctx := context.Background()
	var rows int
	if err := e.DB(t).QueryRow(ctx, `SELECT (SELECT count(*) FROM studies WHERE name = $1) +
		(SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id WHERE s.name = $1)`, name).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d rows of the study left (%v)", rows, err)
	}
	nc, js, err := events.Connect(e.Conn.NATSURL, "it-delete")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := js.Stream(ctx, e.Events.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetLastMsgForSubject(ctx, e.Events.StudySubjects(name)); err == nil {
		t.Fatalf("messages of the study are still in the stream (%d messages in it)", info.State.Msgs)
	}
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var nf *serviceerror.NotFound
	if _, err := c.DescribeWorkflow(ctx, workflows.StudyWorkflowID(name), ""); !errors.As(err, &nf) {
		t.Fatalf("the study's workflow is still there: %v", err)
	}
	// The name is free: the same spec runs again from trial 0.
	if code, out, errOut := e.Tunectl(t, "", "submit", path); code != 0 || !strings.Contains(out, "submitted study") {
		t.Fatalf("submit after delete exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" || res.Counts["complete"] != 4 {
		t.Fatalf("the study submitted again: %+v", res)
	}
	if code, _, errOut := e.Tunectl(t, "", "delete", "no-such-study", "--yes"); code == 0 || !strings.Contains(errOut, "no-such-study") {
		t.Fatalf("delete of an unknown study exited %d: %s", code, errOut)
	}
}
