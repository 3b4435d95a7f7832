package process

import (
	"fmt"
	"net/url"
)

// EnvReaderURL is the Postgres URL `tunectl sql` logs in with.
const EnvReaderURL = "RELUTUNE_READER_URL"

// ReaderRole is the role that may read the result views and nothing else.
const ReaderRole = "relutune_reader"

// DefaultReaderURL is ReaderURL(DefaultDatabaseURL).
const DefaultReaderURL = "postgres://" + ReaderRole + "@127.0.0.1:5432/relutune?sslmode=disable"

// ReaderURL derives the reader's URL from a database URL: the same server,
// database and connection parameters, logging in as ReaderRole without a
// password (a password comes from ~/.pgpass, PGPASSWORD, or an explicit
// RELUTUNE_READER_URL). Only URLs (postgres://...) can be derived from, not
// keyword=value strings.
func ReaderURL(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("cannot derive the reader's URL from the database URL (not a postgres:// URL); set %s", EnvReaderURL)
	}
	u.User = url.User(ReaderRole)
	if q := u.Query(); q.Has("user") || q.Has("password") {
		q.Del("user")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}
