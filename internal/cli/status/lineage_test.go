package status

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

func TestPrintLineageGolden(t *testing.T) {
	r := report(0)
	v := 0.91
	r.Lineage = []store.LineageStep{
		{Target: 2, Generation: 1, Epoch: 2, Source: 0, SourceValue: &v,
			OldParams: []byte(`{"activation":"relu","learning_rate":0.01}`),
			NewParams: []byte(`{"activation":"leaky_relu","learning_rate":0.0024,"negative_slope":0.12}`)},
		{Target: 3, Generation: 2, Epoch: 4, Source: 1,
			OldParams: []byte(`{"activation":"relu","learning_rate":0.01}`),
			NewParams: []byte(`{"activation":"relu","learning_rate":0.01}`)},
	}
	var buf bytes.Buffer
	Print(&cmdutil.IOStreams{Out: &buf}, r)
	golden := filepath.Join("testdata", "status-lineage.table")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(buf.String(), "activation relu->leaky_relu, learning_rate 0.01->0.0024, negative_slope -->0.12") {
		t.Errorf("the parameter changes are missing:\n%s", buf.String())
	}
}
