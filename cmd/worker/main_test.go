package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, "--concurrency: 0 must be >= 1"},
		{[]string{"--log-level", "loud"}, `--log-level: "loud" is not a level`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--temporal-tls-cert", "c.pem"}, `--temporal-tls-cert "c.pem" is set but --temporal-tls-key is not`},
		{[]string{"--nats-nkey", "u.nk", "--nats-token", "t"}, "NATS takes one of"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
