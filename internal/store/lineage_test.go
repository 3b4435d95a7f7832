package store_test

import (
	"context"
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

func TestRecordLineageOnceAndUpdatesParams(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _ := seed(t, st, "maximize", 0.2, 0.9, 0.5, 0.4)
	steps := []store.LineageStep{{
		Target: 0, Generation: 1, Epoch: 2, Source: 1, SourceValue: ptr(0.9),
		OldParams: []byte(`{"activation":"relu"}`), NewParams: []byte(`{"activation":"elu"}`), NewHash: "new",
	}}
	if err := st.RecordLineage(ctx, s.ID, steps); err != nil {
		t.Fatal(err)
	}
	// A retry with other values changes nothing.
	retry := steps
	retry[0].NewParams, retry[0].NewHash = []byte(`{"activation":"gelu"}`), "other"
	if err := st.RecordLineage(ctx, s.ID, retry); err != nil {
		t.Fatal(err)
	}
	got, err := st.Lineage(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Target != 0 || got[0].Source != 1 || got[0].Epoch != 2 || got[0].Generation != 1 ||
		got[0].SourceValue == nil || *got[0].SourceValue != 0.9 {
		t.Fatalf("got %+v, want trial 0 from 1 at generation 1 epoch 2", got)
	}
	if string(got[0].NewParams) != `{"activation": "elu"}` {
		t.Errorf("new params %s, want the first write's", got[0].NewParams)
	}
	trials, err := st.Trials(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(trials[0].Params) != `{"activation": "elu"}` || trials[0].ConfigHash != "new" {
		t.Errorf("trial 0 params %s hash %s, want the new parameters", trials[0].Params, trials[0].ConfigHash)
	}
	if trials[1].ConfigHash != "c" {
		t.Errorf("the source's row changed: %s", trials[1].ConfigHash)
	}
}
