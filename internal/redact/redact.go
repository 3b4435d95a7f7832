// Package redact removes secrets from connection strings, and from messages
// that quote them, before they reach a log, an error or a terminal.
//
// It knows the shapes relutune's connection strings take:
//
//	postgres://user:secret@host/db         -> postgres://user:xxxxx@host/db
//	postgres://host/db?password=secret     -> postgres://host/db?password=xxxxx
//	host=db user=u password='se cret'      -> host=db user=u password=xxxxx
//	nats://user:secret@host:4222           -> nats://user:xxxxx@host:4222
//	nats://token@host:4222                 -> nats://xxxxx@host:4222
//	nats://a:s1@h1:4222,nats://b:s2@h2     -> nats://a:xxxxx@h1:4222,nats://b:xxxxx@h2
//
// A user name alone is kept for every scheme but NATS's (nats, tls, ws,
// wss), where a lone user part is a token.
package redact

import (
	"net/url"
	"sort"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// tokenSchemes are the schemes whose user part alone is a secret token.
var tokenSchemes = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

// passwordKeys are the keys of key=value pairs whose value is a secret:
// Postgres's password and sslpassword, in a URL query or a keyword/value
// connection string.
var passwordKeys = []string{"password", "sslpassword"}

// span is the byte range [start, end) of a secret in a string.
type span struct{ start, end int }

// URL returns u with every password or token in it masked. u may be a list
// of URLs separated by commas (NATS) or a Postgres keyword/value string.
func URL(u string) string { return String(u) }

// String masks every secret in the connection strings that s quotes,
// wherever they appear in it (an error message, a log line).
func String(s string) string {
	spans := secretSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		if sp.start < last { // overlapping spans: already masked
			continue
		}
		b.WriteString(s[last:sp.start])
		b.WriteString(Mask)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Secrets returns the passwords and tokens in the connection string s,
// as written and percent-decoded, so that they can be masked in text that
// quotes them outside a URL.
func Secrets(s string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, sp := range secretSpans(s) {
		v := s[sp.start:sp.end]
		add(v)
		if d, err := url.PathUnescape(v); err == nil {
			add(d)
		}
		if d, err := url.QueryUnescape(v); err == nil {
			add(d)
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			add(strings.ReplaceAll(v[1:len(v)-1], `\'`, `'`))
		}
	}
	return out
}

// minLiteral is the shortest secret that Error masks wherever it appears:
// masking every "a" of a message would destroy it. Shorter secrets are
// still masked inside the URLs and key=value pairs that carry them.
const minLiteral = 4

// Error returns err with every secret masked in its message: those found in
// connection strings that the message quotes, and every literal occurrence
// of the secrets of connStrings (the strings the failed call was given).
// The returned error wraps err, so errors.Is and errors.As still see it.
// A nil err gives nil; an err with nothing to mask is returned as is.
func Error(err error, connStrings ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Text(msg, connStrings...)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// Text is String that also masks every literal occurrence of the secrets
// of connStrings.
func Text(s string, connStrings ...string) string {
	var secrets []string
	for _, c := range connStrings {
		for _, v := range Secrets(c) {
			if len(v) >= minLiteral {
				secrets = append(secrets, v)
			}
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	s = String(s)
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, Mask)
	}
	return s
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// secretSpans finds the secrets in s, in order.
func secretSpans(s string) []span {
	spans := userinfoSpans(s)
	spans = append(spans, keyValueSpans(s)...)
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return spans
}

// userinfoSpans finds the password (or NATS token) of every
// scheme://userinfo@host in s.
func userinfoSpans(s string) []span {
	var spans []span
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			break
		}
		j += i
		start := j
		for start > 0 && isSchemeChar(s[start-1]) {
			start--
		}
		scheme := strings.ToLower(s[start:j])
		authStart := j + len("://")
		authEnd := authStart
		for authEnd < len(s) && !endsAuthority(s[authEnd]) {
			authEnd++
		}
		auth := s[authStart:authEnd]
		if at := strings.LastIndexByte(auth, '@'); at > 0 {
			userinfo := auth[:at]
			if c := strings.IndexByte(userinfo, ':'); c >= 0 {
				if c+1 < at {
					spans = append(spans, span{authStart + c + 1, authStart + at})
				}
			} else if tokenSchemes[scheme] {
				spans = append(spans, span{authStart, authStart + at})
			}
		}
		i = authEnd
		if i == authStart {
			i++
		}
	}
	return spans
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// endsAuthority reports whether c ends the authority of a URL, or the URL
// itself when it is quoted in a message or listed with commas.
func endsAuthority(c byte) bool {
	switch c {
	case '/', '?', '#', ',', '"', '\'', '`', '<', '>', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// keyValueSpans finds the values of password= and sslpassword=, as URL
// query parameters or keyword/value pairs, quoted or not.
func keyValueSpans(s string) []span {
	var spans []span
	lower := strings.ToLower(s)
	for _, key := range passwordKeys {
		pat := key + "="
		for i := 0; i < len(lower); {
			j := strings.Index(lower[i:], pat)
			if j < 0 {
				break
			}
			j += i
			i = j + len(pat)
			if j > 0 && !startsKey(s[j-1]) {
				continue // part of a longer key (sslpassword for password)
			}
			start := i
			end := start
			if end < len(s) && s[end] == '\'' { // keyword/value quoting, \' escapes
				end++
				for end < len(s) && s[end] != '\'' {
					if s[end] == '\\' && end+1 < len(s) {
						end++
					}
					end++
				}
				if end < len(s) {
					end++
				}
			} else {
				for end < len(s) && !endsValue(s[end]) {
					end++
				}
			}
			if end > start {
				spans = append(spans, span{start, end})
			}
			i = end
		}
	}
	return spans
}

// startsKey reports whether a key may start after c.
func startsKey(c byte) bool {
	switch c {
	case '?', '&', ';', ' ', '\t', '\n', '\r', '"', '`', '(', '[', '{', ',':
		return true
	}
	return false
}

func endsValue(c byte) bool {
	switch c {
	case '&', '#', ' ', '\t', '\n', '\r', '"', '`', ')', ']', '}', ',':
		return true
	}
	return false
}
