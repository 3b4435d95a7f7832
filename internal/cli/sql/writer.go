package sql

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relutune/relutune/internal/store"
)

// flushEvery is how long rows may wait in the buffer while more arrive.
const flushEvery = 100 * time.Millisecond

// writer is a store.RowSink that prints a result in one format: csv, json
// and jsonl row by row as they arrive, a table once complete (its columns
// are aligned over every row). It stops the query after limit rows (0: no
// limit) and then reports truncated.
type writer struct {
	format    string
	limit     int
	buf       *bufio.Writer
	csv       *csv.Writer
	header    []string
	keys      [][]byte   // json: each column's quoted name
	cells     [][]string // table: the rows so far
	n         int
	truncated bool
	lastFlush time.Time
	now       func() time.Time
}

func newWriter(w io.Writer, format string, limit int) *writer {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &writer{format: format, limit: limit, buf: buf, csv: csv.NewWriter(buf), now: time.Now}
}

// Columns implements store.RowSink.
func (w *writer) Columns(names []string) error {
	w.header = names
	w.lastFlush = w.now()
	switch w.format {
	case "csv":
		return w.csv.Write(names)
	case "json", "jsonl":
		// Objects keep the columns' order; a repeated name (two "?column?")
		// gets a suffix, since JSON objects need distinct keys.
		seen := map[string]bool{}
		for _, n := range names {
			k := n
			for i := 2; seen[k]; i++ {
				k = fmt.Sprintf("%s_%d", n, i)
			}
			seen[k] = true
			b, _ := json.Marshal(k)
			w.keys = append(w.keys, b)
		}
	}
	return nil
}

// Row implements store.RowSink.
func (w *writer) Row(values []any) error {
	if w.limit > 0 && w.n == w.limit {
		w.truncated = true
		return store.ErrStopRows
	}
	w.n++
	switch w.format {
	case "table":
		w.cells = append(w.cells, cells(values))
		return nil
	case "csv":
		if err := w.csv.Write(cells(values)); err != nil { // into buf, which csv uses as its own buffer
			return err
		}
	case "json":
		if w.n == 1 {
			w.buf.WriteString("[\n  ")
		} else {
			w.buf.WriteString(",\n  ")
		}
		w.object(values)
	case "jsonl":
		w.object(values)
		w.buf.WriteByte('\n')
	}
	if now := w.now(); now.Sub(w.lastFlush) >= flushEvery {
		w.lastFlush = now
		return w.flush()
	}
	return nil
}

// object writes one row as a JSON object.
func (w *writer) object(values []any) {
	w.buf.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.Write(w.keys[i])
		w.buf.WriteByte(':')
		w.buf.Write(jsonValue(v))
	}
	w.buf.WriteByte('}')
}

// flush writes out what is buffered.
func (w *writer) flush() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// finish completes the output after the last row.
func (w *writer) finish() error {
	switch w.format {
	case "table":
		tw := tabwriter.NewWriter(w.buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(w.header, "\t"))
		for _, r := range w.cells {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	case "json":
		if w.n == 0 {
			w.buf.WriteString("[]\n")
		} else {
			w.buf.WriteString("\n]\n")
		}
	}
	return w.flush()
}

func cells(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = format(v)
	}
	return out
}

// format renders a value for a table or CSV cell.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return fmt.Sprintf("%.6g", x)
	case time.Time:
		return x.Format(time.RFC3339)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	case []byte:
		return string(x)
	case json.Marshaler: // numeric, intervals, ... as Postgres would print them
		if b, err := x.MarshalJSON(); err == nil {
			return strings.Trim(string(b), `"`)
		}
	}
	return fmt.Sprint(v)
}

// jsonValue encodes v as JSON; text and bytea as strings, and values JSON
// cannot hold (NaN) as their printed form.
func jsonValue(v any) []byte {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprint(v))
	}
	return b
}
