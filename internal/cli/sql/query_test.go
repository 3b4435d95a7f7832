package sql_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/root"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/testdb"
)

func tunectl(t *testing.T, out io.Writer, args ...string) (code int, stderr string) {
	t.Helper()
	var errOut bytes.Buffer
	io := &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &errOut}
	code = root.Execute(context.Background(), io, args)
	return code, errOut.String()
}

// TestSQLCommandAsReader runs `tunectl sql` against a test database, with
// the reader's URL derived from --database-url as an operator's would be.
func TestSQLCommandAsReader(t *testing.T) {
	_, url := testdb.New(t)
	t.Setenv(process.EnvReaderURL, "") // derive it from --database-url
	var out bytes.Buffer
	code, errOut := tunectl(t, &out, "--database-url", url, "sql", "--output", "csv",
		"SELECT current_user, current_setting('statement_timeout') AS timeout")
	if code != 0 || out.String() != "current_user,timeout\nrelutune_reader,30s\n" {
		t.Fatalf("exit %d, %q %s", code, out.String(), errOut)
	}

	reader := testdb.ReaderURL(t, url)
	for _, tc := range []struct{ query, want string }{
		{`SELECT set_config('role', 'postgres', true), current_user, query_to_xml('select count(*) from pg_authid', false, false, '')`,
			`permission denied to set role "postgres"`},
		{`SELECT 1; SELECT 2`, `one statement per call`},
		{`SELECT pg_sleep(5)`, `canceling statement due to statement timeout (SQLSTATE 57014) after 1s; --timeout sets the limit`},
	} {
		out.Reset()
		code, errOut := tunectl(t, &out, "--database-url", url, "sql", "--reader-url", reader, "--timeout", "1s", tc.query)
		if code != 1 || !strings.Contains(errOut, tc.want) || out.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 with %q", tc.query, code, out.String(), errOut, tc.want)
		}
	}

	// A login that can change results is refused.
	code, errOut = tunectl(t, &out, "sql", "--reader-url", url, "SELECT 1")
	if code != 1 || !strings.Contains(errOut, "which is a superuser") && !strings.Contains(errOut, "which may write trials") {
		t.Errorf("owner's URL: exit %d %q; want it refused", code, errOut)
	}
}

// probe is the command's standard output: on its first write it asks the
// server whether the reader's statement is still running.
type probe struct {
	owner        *pgx.Conn
	writes       int
	bytes        bytes.Buffer
	activeAtData int
	err          error
}

func (p *probe) Write(b []byte) (int, error) {
	p.writes++
	if p.writes == 1 {
		p.err = p.owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE usename = 'relutune_reader' AND datname = current_database() AND state = 'active'`).Scan(&p.activeAtData)
	}
	return p.bytes.Write(b)
}

// TestSQLStreamsRows asks for the first 150000 rows of a query that would
// then sleep for a minute: rows reach the output while the statement runs,
// and the limit ends it.
func TestSQLStreamsRows(t *testing.T) {
	_, url := testdb.New(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	out := &probe{owner: owner}
	code, errOut := tunectl(t, out, "sql", "--reader-url", testdb.ReaderURL(t, url), "--output", "csv", "--limit", "150000",
		"SELECT g FROM generate_series(1, 1000000) g UNION ALL SELECT 0 FROM pg_sleep(60)")
	if code != 0 || out.err != nil {
		t.Fatalf("exit %d %s %v", code, errOut, out.err)
	}
	lines := strings.Split(strings.TrimSuffix(out.bytes.String(), "\n"), "\n")
	if len(lines) != 150001 || lines[0] != "g" || lines[150000] != "150000" {
		t.Errorf("got %d lines, last %q; want the header and rows 1 to 150000", len(lines), lines[len(lines)-1])
	}
	if out.activeAtData != 1 || out.writes < 2 {
		t.Errorf("%d writes, reader statements running at the first: %d; want several, the first while the statement ran", out.writes, out.activeAtData)
	}
	if want := "output truncated to the first 150000 rows (--limit)"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q; want %q", errOut, want)
	}
}

// TestSQLJSONStream checks the json array as it is streamed row by row.
func TestSQLJSONStream(t *testing.T) {
	_, url := testdb.New(t)
	var out bytes.Buffer
	code, errOut := tunectl(t, &out, "sql", "--reader-url", testdb.ReaderURL(t, url), "-o", "json",
		"SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 3) g")
	want := "[\n" + strings.Join([]string{
		`  {"n":1,"label":"row 1"}`, `  {"n":2,"label":"row 2"}`, `  {"n":3,"label":"row 3"}`}, ",\n") + "\n]\n"
	if code != 0 || out.String() != want {
		t.Fatalf("exit %d %s\ngot  %q\nwant %q", code, errOut, out.String(), want)
	}
	out.Reset()
	code, _ = tunectl(t, &out, "sql", "--reader-url", testdb.ReaderURL(t, url), "SELECT g FROM generate_series(1, 10001) g")
	if lines := strings.Count(out.String(), "\n"); code != 0 || lines != 10001 {
		t.Errorf("table: exit %d, %d lines; want the header and %d rows", code, lines, 10000)
	}
}
