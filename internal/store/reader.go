package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Errors of QueryAsReader, for errors.Is.
var (
	// ErrQuery wraps the error of a query that Postgres rejected.
	ErrQuery = errors.New("store: query")
	// ErrReaderConnect wraps a failure to log in with the reader's URL.
	ErrReaderConnect = errors.New("store: reader: connect")
	// ErrReaderPrivileged is returned when the reader's URL logs in as a
	// role that could change results.
	ErrReaderPrivileged = errors.New("store: reader: the login can change results")
	// ErrStopRows, returned by a RowSink, ends the query early without error.
	ErrStopRows = errors.New("store: stop reading rows")
)

// Bounds of ReaderQuery.Timeout.
const (
	MinReaderTimeout = time.Millisecond
	MaxReaderTimeout = time.Hour
)

// readerGrace is how long past the statement timeout the client waits for
// the server's answer before canceling on its own.
const readerGrace = 5 * time.Second

// ReaderQuery is one analyst query.
type ReaderQuery struct {
	SQL string
	// Timeout is the session's statement_timeout; the client gives up
	// readerGrace after it.
	Timeout time.Duration
}

// RowSink receives a query's result as it arrives: Columns once, then Row
// for each row. The values passed to Row are only valid during the call.
type RowSink interface {
	Columns(names []string) error
	Row(values []any) error
}

// QueryAsReader logs in with url, which must name a role that cannot change
// results (normally relutune_reader, whose privileges are the result views),
// and runs q.SQL in a read-only transaction with statement_timeout set to
// q.Timeout, passing the result to sink row by row as Postgres sends it.
// The connection is its own and closed on return. q.SQL must be a single
// statement: it is sent with the extended protocol, which refuses several.
// When sink returns ErrStopRows the query is canceled and QueryAsReader
// returns nil.
func QueryAsReader(ctx context.Context, url string, q ReaderQuery, sink RowSink) error {
	if q.Timeout < MinReaderTimeout || q.Timeout > MaxReaderTimeout {
		return fmt.Errorf("store: reader: timeout %v out of range (allowed: %v to %v)", q.Timeout, MinReaderTimeout, MaxReaderTimeout)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("%w: reader url: %v", ErrReaderConnect, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "tunectl sql"
	}
	// A canceled context (deadline, interrupt, ErrStopRows) sends the server
	// a cancel request, so the statement stops there too, rather than only
	// closing the socket under a backend that keeps working.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, q.Timeout+readerGrace)
	defer cancel()

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w to %s: %v", ErrReaderConnect, redact(cfg), err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()

	var user string
	var super, writes bool
	if err := conn.QueryRow(ctx, `SELECT current_user, r.rolsuper,
			coalesce(has_table_privilege(to_regclass('public.trials'), 'INSERT, UPDATE, DELETE, TRUNCATE'), false)
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &writes); err != nil {
		return readerError(ctx, q, err)
	}
	if super || writes {
		why := "may write trials"
		if super {
			why = "is a superuser"
		}
		return fmt.Errorf("%w: %s logs in as %q, which %s; use a read-only role such as relutune_reader", ErrReaderPrivileged, redact(cfg), user, why)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET statement_timeout = %d", q.Timeout.Milliseconds())); err != nil {
		return readerError(ctx, q, err)
	}

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return readerError(ctx, q, err)
	}
	qctx, stop := context.WithCancel(ctx)
	defer stop()
	rows, err := tx.Query(qctx, q.SQL)
	if err != nil {
		return readerError(ctx, q, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	names := make([]string, len(fields))
	for i, fd := range fields {
		names[i] = fd.Name
	}
	if err := sink.Columns(names); err != nil {
		stop()
		if errors.Is(err, ErrStopRows) {
			return nil
		}
		return err
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return readerError(ctx, q, err)
		}
		if err := sink.Row(vals); err != nil {
			stop() // the server cancels the statement; the connection is closed
			if errors.Is(err, ErrStopRows) {
				return nil
			}
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return readerError(ctx, q, err)
	}
	return tx.Rollback(ctx) // read-only: nothing to commit
}

// readerError explains a failed reader query: Postgres's message and code,
// the one-statement rule, or the client's own deadline.
func readerError(ctx context.Context, q ReaderQuery, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
		switch {
		case pgErr.Code == "42601" && strings.Contains(pgErr.Message, "multiple commands"):
			return fmt.Errorf("%w: one statement per call: %s", ErrQuery, msg)
		case pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout"):
			return fmt.Errorf("%w: %s after %v", ErrQuery, msg, q.Timeout)
		}
		return fmt.Errorf("%w: %s", ErrQuery, msg)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer within the statement timeout %v plus %v; canceled", ErrQuery, q.Timeout, readerGrace)
	}
	return fmt.Errorf("%w: %v", ErrQuery, err)
}
