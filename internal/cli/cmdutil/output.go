package cmdutil

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Output formats accepted by --output.
var OutputFormats = []string{"table", "json", "csv"}

// CheckOutput validates an --output value.
func CheckOutput(format string) error {
	for _, f := range OutputFormats {
		if f == format {
			return nil
		}
	}
	return Usagef("--output: %q is not a format (allowed: %s)", format, strings.Join(OutputFormats, ", "))
}

// Table is tabular output that renders as an aligned table, CSV, or (from
// Records) JSON, so every format comes from one exporter.
type Table struct {
	Header  []string
	Rows    [][]string
	Records any // what --output json prints; one object per row
}

// Render writes t in format.
func (t Table) Render(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t.Records)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(t.Header); err != nil {
			return err
		}
		if err := cw.WriteAll(t.Rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
		for _, r := range t.Rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		return tw.Flush()
	}
}

// FormatFloat renders an optional number with 4 significant decimals.
func FormatFloat(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *p)
}
