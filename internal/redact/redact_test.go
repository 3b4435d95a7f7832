package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"postgres user and password", "postgres://relutune:s3cret@db:5432/relutune?sslmode=verify-full",
			"postgres://relutune:xxxxx@db:5432/relutune?sslmode=verify-full"},
		{"postgresql scheme", "postgresql://u:pw@h/db", "postgresql://u:xxxxx@h/db"},
		{"postgres user only is kept", "postgres://postgres@127.0.0.1:5432/relutune?sslmode=disable",
			"postgres://postgres@127.0.0.1:5432/relutune?sslmode=disable"},
		{"postgres no userinfo", "postgres://127.0.0.1/db", "postgres://127.0.0.1/db"},
		{"postgres empty password", "postgres://u:@h/db", "postgres://u:@h/db"},
		{"password with at sign", "postgres://u:p@ss@h/db", "postgres://u:xxxxx@h/db"},
		{"percent-encoded password", "postgres://u:p%40ss%2Fw@h/db", "postgres://u:xxxxx@h/db"},
		{"password in query", "postgres://h/db?user=u&password=s3cret&sslmode=require",
			"postgres://h/db?user=u&password=xxxxx&sslmode=require"},
		{"password last in query", "postgres://h/db?password=s3cret", "postgres://h/db?password=xxxxx"},
		{"sslpassword in query", "postgres://h/db?sslkey=/k.pem&sslpassword=keypass",
			"postgres://h/db?sslkey=/k.pem&sslpassword=xxxxx"},
		{"upper-case key", "postgres://h/db?PASSWORD=s3cret", "postgres://h/db?PASSWORD=xxxxx"},
		{"both userinfo and query", "postgres://u:a1@h/db?password=b2", "postgres://u:xxxxx@h/db?password=xxxxx"},
		{"multi-host postgres", "postgres://u:pw@h1:5432,h2:5432/db", "postgres://u:xxxxx@h1:5432,h2:5432/db"},
		{"ipv6 host", "postgres://u:pw@[::1]:5432/db", "postgres://u:xxxxx@[::1]:5432/db"},
		{"keyword/value", "host=db user=u password=s3cret dbname=relutune",
			"host=db user=u password=xxxxx dbname=relutune"},
		{"keyword/value quoted", `host=db password='se cr\'et' user=u`, "host=db password=xxxxx user=u"},
		{"keyword/value first", "password=s3cret host=db", "password=xxxxx host=db"},
		{"sslpassword keyword", "host=db sslpassword=kp", "host=db sslpassword=xxxxx"},
		{"not a password key", "host=db mypassword=visible", "host=db mypassword=visible"},
		{"nats user and password", "nats://user:s3cret@nats:4222", "nats://user:xxxxx@nats:4222"},
		{"nats token", "nats://s3crettoken@nats:4222", "nats://xxxxx@nats:4222"},
		{"tls token", "tls://tok@nats:4222", "tls://xxxxx@nats:4222"},
		{"websocket password", "wss://u:pw@nats:443", "wss://u:xxxxx@nats:443"},
		{"nats no userinfo", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats list", "nats://a:s1@h1:4222,nats://tok@h2:4222,nats://h3:4222",
			"nats://a:xxxxx@h1:4222,nats://xxxxx@h2:4222,nats://h3:4222"},
		{"upper-case scheme", "NATS://tok@h:4222", "NATS://xxxxx@h:4222"},
		{"http user kept", "http://admin@ui:8233", "http://admin@ui:8233"},
		{"http password", "https://admin:pw@ui:8233/path", "https://admin:xxxxx@ui:8233/path"},
		{"host:port only", "127.0.0.1:7233", "127.0.0.1:7233"},
		{"empty", "", ""},
		{"email in query is not userinfo", "postgres://h/db?application_name=me@example.com",
			"postgres://h/db?application_name=me@example.com"},
		{"scheme without host", "nats://", "nats://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStringInMessages(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"quoted by %q", `connect to "nats://u:pw@h:4222": refused`, `connect to "nats://u:xxxxx@h:4222": refused`},
		{"url.Error", `parse "postgres://u:pw@h:bad/db": invalid port ":bad" after host`,
			`parse "postgres://u:xxxxx@h:bad/db": invalid port ":bad" after host`},
		{"backquoted", "dial `nats://tok@h:4222` failed", "dial `nats://xxxxx@h:4222` failed"},
		{"two urls on a line", "db=postgres://a:p1@h/d nats=nats://b:p2@n:4222 ok",
			"db=postgres://a:xxxxx@h/d nats=nats://b:xxxxx@n:4222 ok"},
		{"end of sentence", "cannot reach nats://tok@h:4222.", "cannot reach nats://xxxxx@h:4222."},
		{"no secret", "connection refused", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	got := Secrets("postgres://u:p%40ss@h/db?password=q%20w&sslpassword='k\\'p'")
	for _, want := range []string{"p%40ss", "p@ss", "q%20w", "q w", `'k\'p'`, "k'p"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("Secrets = %q, missing %q", got, want)
		}
	}
	if got := Secrets("postgres://postgres@h/db"); len(got) != 0 {
		t.Errorf("Secrets of a URL without password = %q, want none", got)
	}
}

func TestError(t *testing.T) {
	const dbURL = "postgres://u:hunter22@db:5432/relutune"
	base := errors.New("boom")
	tests := []struct {
		name  string
		err   error
		conns []string
		want  string
	}{
		{"url in message", fmt.Errorf("connect to %s: %w", dbURL, base), nil,
			"connect to postgres://u:xxxxx@db:5432/relutune: boom"},
		{"bare password quoted by a driver", fmt.Errorf("auth failed for password hunter22: %w", base), []string{dbURL},
			"auth failed for password xxxxx: boom"},
		{"decoded password", fmt.Errorf("bad secret h@ck: %w", base), []string{"nats://u:h%40ck@n:4222"},
			"bad secret xxxxx: boom"},
		{"token", fmt.Errorf("server rejected tok3n-abc: %w", base), []string{"nats://tok3n-abc@n:4222"},
			"server rejected xxxxx: boom"},
		{"short secret only masked in urls", fmt.Errorf("nats://u:ab@n:4222 ab: %w", base), []string{"nats://u:ab@n:4222"},
			"nats://u:xxxxx@n:4222 ab: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Error(tt.err, tt.conns...)
			if got.Error() != tt.want {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.want)
			}
			if !errors.Is(got, base) {
				t.Errorf("redacted error does not wrap the original")
			}
		})
	}
	if Error(nil, dbURL) != nil {
		t.Errorf("Error(nil) != nil")
	}
	plain := errors.New("nothing secret")
	if got := Error(plain, dbURL); got != plain {
		t.Errorf("Error with nothing to mask = %v, want the same error", got)
	}
	wrapped := Error(fmt.Errorf("%s: %w", dbURL, context.DeadlineExceeded))
	if !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Errorf("errors.Is lost through redaction")
	}
}

// TestPgxErrors checks what pgx itself reports for bad and unreachable
// URLs: whatever it quotes, the password must not survive Error.
func TestPgxErrors(t *testing.T) {
	const secret = "Sup3rSecret"
	for _, conn := range []string{
		"postgres://u:" + secret + "@127.0.0.1:bad/db",
		"postgres://u:" + secret + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://127.0.0.1:1/db?password=" + secret + "&connect_timeout=bad",
		"host=127.0.0.1 port=1 password=" + secret + " sslmode=bogus",
		"postgres://u:" + url.PathEscape(secret+"/x") + "@127.0.0.1:1/db?sslmode=disable",
	} {
		_, err := pgconn.ParseConfig(conn)
		if err == nil {
			_, err = pgconn.Connect(context.Background(), conn)
		}
		if err == nil {
			t.Fatalf("%s: no error", conn)
		}
		if got := Error(err, conn).Error(); strings.Contains(got, secret) {
			t.Errorf("redacted pgx error still holds the password: %s", got)
		}
	}
}
