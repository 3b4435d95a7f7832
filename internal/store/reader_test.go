package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// collect is a RowSink that keeps the whole (small) result.
type collect struct {
	cols []string
	rows [][]any
}

func (c *collect) Columns(names []string) error { c.cols = names; return nil }
func (c *collect) Row(v []any) error {
	c.rows = append(c.rows, append([]any(nil), v...))
	return nil
}

func asReader(t *testing.T, url, sql string, timeout time.Duration) (*collect, error) {
	t.Helper()
	c := &collect{}
	err := store.QueryAsReader(context.Background(), url, store.ReaderQuery{SQL: sql, Timeout: timeout}, c)
	return c, err
}

// seedMetrics stores a study with one complete trial and two epochs of metrics.
func seedMetrics(t *testing.T, st *store.Store) {
	t.Helper()
	_, trials := seed(t, st, "maximize", 0.9)
	ctx := context.Background()
	for i, v := range []float64{0.85, 0.9} {
		if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: trials[0].ID, Epoch: i + 1, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: &v}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReaderRoleAttributes(t *testing.T) {
	st, _ := testdb.New(t)
	var super, login, createdb, createrole, memberOfOwner bool
	var connLimit, memberships int
	var cfg []string
	err := st.Pool().QueryRow(context.Background(), `SELECT r.rolsuper, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolconnlimit,
			coalesce(r.rolconfig, '{}'), pg_has_role(r.oid, (SELECT oid FROM pg_roles WHERE rolname = current_user), 'MEMBER'),
			(SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid OR m.roleid = r.oid)
		FROM pg_roles r WHERE r.rolname = $1`, process.ReaderRole).
		Scan(&super, &login, &createdb, &createrole, &connLimit, &cfg, &memberOfOwner, &memberships)
	if err != nil {
		t.Fatal(err)
	}
	if super || !login || createdb || createrole || memberOfOwner || memberships != 0 {
		t.Errorf("relutune_reader: super=%v login=%v createdb=%v createrole=%v member of owner=%v memberships=%d; want a plain login role with no memberships",
			super, login, createdb, createrole, memberOfOwner, memberships)
	}
	if connLimit <= 0 {
		t.Errorf("relutune_reader: connection limit %d, want a positive limit", connLimit)
	}
	joined := strings.Join(cfg, " ")
	for _, want := range []string{"default_transaction_read_only=on", "statement_timeout=", "idle_in_transaction_session_timeout="} {
		if !strings.Contains(joined, want) {
			t.Errorf("relutune_reader settings %q lack %s", cfg, want)
		}
	}
}

func TestReaderReadsTheViews(t *testing.T) {
	st, url := testdb.New(t)
	seedMetrics(t, st)
	reader := testdb.ReaderURL(t, url)
	for _, view := range []string{"trial_ranking", "config_ranking", "activation_summary", "activation_seed_means", "trial_diagnostics", "epoch_metrics"} {
		res, err := asReader(t, reader, "SELECT * FROM "+view, 5*time.Second)
		if err != nil || len(res.rows) == 0 {
			t.Errorf("%s: %d rows, %v; want it readable with rows", view, len(res.rows), err)
		}
	}
	res, err := asReader(t, reader, `SELECT study, trial, activation, epoch, val_accuracy FROM epoch_metrics ORDER BY epoch`, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.cols, res.rows)
	if want := "[study trial activation epoch val_accuracy] [[s 0 relu 1 0.85] [s 0 relu 2 0.9]]"; got != want {
		t.Errorf("epoch_metrics: got %s, want %s", got, want)
	}
	// The role's own session, not a role switched to inside another's.
	res, err = asReader(t, reader, `SELECT current_user, session_user, current_setting('transaction_read_only')`, 5*time.Second)
	if err != nil || fmt.Sprint(res.rows) != "[[relutune_reader relutune_reader on]]" {
		t.Errorf("identity: %v %v", res.rows, err)
	}
}

// TestReaderEscapesDenied runs, as the reader through QueryAsReader, each
// way a query could try to gain the owner's rights or change data.
func TestReaderEscapesDenied(t *testing.T) {
	st, url := testdb.New(t)
	seedMetrics(t, st)
	reader := testdb.ReaderURL(t, url)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var ownerRole string
	var ownerPID int
	if err := owner.QueryRow(ctx, `SELECT current_user, pg_backend_pid()`).Scan(&ownerRole, &ownerPID); err != nil {
		t.Fatal(err)
	}
	role := pgx.Identifier{ownerRole}.Sanitize()
	lit := "'" + strings.ReplaceAll(ownerRole, "'", "''") + "'"

	for _, tc := range []struct{ name, sql, want string }{
		{"set_config role then pg_authid", `SELECT set_config('role', ` + lit + `, true), current_user, query_to_xml('select count(*) from pg_authid', false, false, '')`,
			`permission denied to set role`},
		{"pg_authid", `SELECT count(*) FROM pg_authid`, `permission denied for table pg_authid`},
		{"SET ROLE", `SET ROLE ` + role, `permission denied to set role`},
		{"SET SESSION AUTHORIZATION", `SET SESSION AUTHORIZATION ` + role, `permission denied to set session authorization`},
		{"RESET ROLE in a DO block", `DO $$ BEGIN RESET ROLE; PERFORM count(*) FROM trials; END $$`, `permission denied for table trials`},
		{"DO block deleting", `DO $$ BEGIN DELETE FROM trials; END $$`, `cannot execute DELETE in a read-only transaction`},
		{"DO block switching role", `DO $$ BEGIN EXECUTE 'SET ROLE ` + strings.ReplaceAll(role, "'", "''") + `'; DELETE FROM trials; END $$`, `permission denied to set role`},
		{"COPY TO PROGRAM", `COPY (SELECT 1) TO PROGRAM 'touch /tmp/relutune-escaped'`, `to COPY to or from an external program`},
		{"COPY TO PROGRAM in a DO block", `DO $$ BEGIN COPY (SELECT 1) TO PROGRAM 'touch /tmp/relutune-escaped'; END $$`, `to COPY to or from an external program`},
		{"pg_read_file", `SELECT pg_read_file('/etc/passwd')`, `permission denied for function pg_read_file`},
		{"pg_terminate_backend", fmt.Sprintf(`SELECT pg_terminate_backend(%d)`, ownerPID), `permission denied for function pg_terminate_backend`},
		{"advisory lock", `SELECT pg_advisory_lock(1919251573)`, `permission denied for function pg_advisory_lock`},
		{"large object", `SELECT lo_from_bytea(0, 'x')`, `permission denied for function lo_from_bytea`},
		{"multi-statement", `SELECT 1; DELETE FROM trials`, `one statement per call`},
		{"DELETE", `DELETE FROM trials`, `cannot execute DELETE in a read-only transaction`},
		{"INSERT", `INSERT INTO trials (study_id, number, config_hash, params, seed) VALUES (1, 99, 'c', '{}', 1)`, `cannot execute INSERT in a read-only transaction`},
		{"UPDATE", `UPDATE trials SET status = 'failed'`, `cannot execute UPDATE in a read-only transaction`},
		{"read-write transaction", `SELECT set_config('transaction_read_only', 'off', true)`, `transaction read-write mode must be set before any query`},
		{"trials", `SELECT * FROM trials`, `permission denied for table trials`},
		{"studies", `SELECT * FROM studies`, `permission denied for table studies`},
		{"trial_metrics", `SELECT * FROM trial_metrics`, `permission denied for table trial_metrics`},
		{"rung_values", `SELECT * FROM rung_values`, `permission denied for table rung_values`},
		{"schema_migrations", `SELECT * FROM public.schema_migrations`, `permission denied for table schema_migrations`},
		{"CREATE TABLE", `CREATE TABLE escaped (a int)`, `cannot execute CREATE TABLE in a read-only transaction`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := asReader(t, reader, tc.sql, 5*time.Second)
			if !errors.Is(err, store.ErrQuery) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v rows %v, error %v; want it denied with %q", res.cols, res.rows, err, tc.want)
			}
			t.Logf("denied: %v", err)
		})
	}
	if err := owner.Ping(ctx); err != nil {
		t.Errorf("the owner's session did not survive: %v", err)
	}
	var n int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM trials WHERE status = 'complete'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("trials changed: %d complete, %v", n, err)
	}
}

// TestReaderRoleWithoutTheTool logs in as the reader directly, as an
// analyst's psql would, and turns the role's read-only default off: the
// role's privileges alone still refuse every change.
func TestReaderRoleWithoutTheTool(t *testing.T) {
	st, url := testdb.New(t)
	seedMetrics(t, st)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.ReaderURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET default_transaction_read_only = off`); err != nil {
		t.Fatal(err)
	}
	for sql, want := range map[string]string{
		`DELETE FROM trials`:                             `permission denied for table trials`,
		`UPDATE studies SET status = 'failed'`:           `permission denied for table studies`,
		`INSERT INTO trial_metrics VALUES (1, 1, 1)`:     `permission denied for table trial_metrics`,
		`TRUNCATE rung_values`:                           `permission denied for table rung_values`,
		`CREATE TABLE escaped (a int)`:                   `permission denied for schema public`,
		`CREATE TEMP TABLE escaped (a int)`:              `permission denied to create temporary tables`,
		`CREATE VIEW escaped AS SELECT 1`:                `permission denied for schema public`,
		`GRANT SELECT ON trials TO relutune_reader`:      `permission denied for table trials`,
		`ALTER ROLE relutune_reader CONNECTION LIMIT -1`: `permission denied`,
	} {
		_, err := conn.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", sql, err, want)
		}
	}
}

func TestReaderRefusesAPrivilegedLogin(t *testing.T) {
	_, url := testdb.New(t)
	_, err := asReader(t, url, "SELECT 1", 5*time.Second)
	if !errors.Is(err, store.ErrReaderPrivileged) {
		t.Fatalf("querying with the owner's URL: %v; want ErrReaderPrivileged", err)
	}
}

func TestReaderStatementTimeout(t *testing.T) {
	_, url := testdb.New(t)
	_, err := asReader(t, testdb.ReaderURL(t, url), "SELECT pg_sleep(5)", time.Second)
	if !errors.Is(err, store.ErrQuery) || !strings.Contains(err.Error(), "canceling statement due to statement timeout (SQLSTATE 57014) after 1s") {
		t.Fatalf("pg_sleep(5) with a 1s timeout: %v; want the statement timeout", err)
	}
	for _, bad := range []time.Duration{0, -time.Second, 2 * time.Hour} {
		if _, err := asReader(t, testdb.ReaderURL(t, url), "SELECT 1", bad); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("timeout %v: %v; want it refused", bad, err)
		}
	}
}

// stopAfter stops the query after n rows, and records on the first row
// whether the reader's statement was still running on the server.
type stopAfter struct {
	n, got       int
	owner        *pgx.Conn
	activeAtRow1 int
	err          error
}

func (s *stopAfter) Columns([]string) error { return nil }
func (s *stopAfter) Row(v []any) error {
	s.got++
	if s.got == 1 {
		s.err = s.owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE usename = 'relutune_reader' AND datname = current_database() AND state = 'active'`).Scan(&s.activeAtRow1)
	}
	if s.got == s.n {
		return store.ErrStopRows
	}
	return nil
}

// TestReaderStreamsAndStops reads the first rows of a query that would run
// for a minute: the rows arrive while it runs, and stopping cancels it.
func TestReaderStreamsAndStops(t *testing.T) {
	_, url := testdb.New(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	sink := &stopAfter{n: 1000, owner: owner}
	q := `SELECT g FROM generate_series(1, 100000) g UNION ALL SELECT 0 FROM pg_sleep(60)`
	if err := store.QueryAsReader(ctx, testdb.ReaderURL(t, url), store.ReaderQuery{SQL: q, Timeout: 90 * time.Second}, sink); err != nil {
		t.Fatal(err)
	}
	if sink.err != nil || sink.activeAtRow1 != 1 || sink.got != 1000 {
		t.Fatalf("rows %d, reader statements active at the first row: %d (%v); want 1000 rows, the first while the statement ran", sink.got, sink.activeAtRow1, sink.err)
	}
	// The statement and its session end on the server too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = 'relutune_reader' AND datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reader sessions still on the server after the stop", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMigrateDatabasesConcurrently migrates several new databases of one
// cluster at once: the role they share is changed by all of them. On a
// fresh cluster it also races the role's creation (without the migrations'
// guards it fails there with "tuple concurrently updated" or a duplicate
// pg_authid key).
func TestMigrateDatabasesConcurrently(t *testing.T) {
	stores := make([]*store.Store, 4)
	for i := range stores {
		stores[i], _ = testdb.Empty(t)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("database %d: %v", i, err)
		}
	}
}

// TestReadmeQueriesRunAsReader runs the SQL examples of README.md's
// "Querying results" as the reader: they must need no base table.
func TestReadmeQueriesRunAsReader(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Querying results")
	_, block, ok2 := strings.Cut(section, "```sql\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no sql block under Querying results")
	}
	_, url := testdb.New(t)
	reader := testdb.ReaderURL(t, url)
	n := 0
	for _, q := range strings.Split(block, ";") {
		if strings.TrimSpace(q) == "" {
			continue
		}
		n++
		if _, err := asReader(t, reader, q, 5*time.Second); err != nil {
			t.Errorf("%s\n: %v", q, err)
		}
	}
	if n < 3 {
		t.Errorf("%d queries in the README's sql block, want 3", n)
	}
}
