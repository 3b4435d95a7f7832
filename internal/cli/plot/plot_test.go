package plot

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/store"
)

func TestSVGIsWellFormedWithALinePerActivation(t *testing.T) {
	pts := []store.CurvePoint{
		{Activation: "relu", Epoch: 1, Mean: 0.5}, {Activation: "relu", Epoch: 2, Mean: 0.8},
		{Activation: "tanh", Epoch: 1, Mean: 0.4}, {Activation: "tanh", Epoch: 2, Mean: 0.7},
		{Activation: "<b>", Epoch: 1, Mean: 0.1},
	}
	var buf bytes.Buffer
	if err := SVG(&buf, "s & t", "val_accuracy", pts); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(buf.String()))
	paths, texts := 0, []string{}
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "path" {
			for _, a := range se.Attr {
				if a.Name.Local == "stroke-width" && a.Value == "2" {
					paths++
				}
			}
		}
		if cd, ok := tok.(xml.CharData); ok {
			texts = append(texts, string(cd))
		}
	}
	if paths != 3 {
		t.Fatalf("%d curves, want 3", paths)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"s & t", "relu", "tanh", "<b>", "epoch"} {
		if !strings.Contains(all, want) {
			t.Errorf("text %q missing", want)
		}
	}
}
