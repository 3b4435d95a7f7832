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
		{[]string{"--temporal-tls-key", "k.pem"}, `--temporal-tls-key "k.pem" is set but --temporal-tls-cert is not`},
		{[]string{"--nats-password", "pw"}, "--nats-user is not"},
		{[]string{"--log-level", "loud"}, `--log-level: "loud" is not a level`},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestHelpHidesSecrets: --help prints each flag's default, which comes
// from the environment; passwords and keys must not be among them.
func TestHelpHidesSecrets(t *testing.T) {
	t.Setenv("RELUTUNE_DATABASE_URL", "postgres://relutune:Db-Pa55@db:5432/relutune")
	t.Setenv("RELUTUNE_NATS_URL", "nats://Nats-T0ken@nats:4222")
	t.Setenv("RELUTUNE_TEMPORAL_API_KEY", "Temporal-K3y")
	var stderr bytes.Buffer
	if code := run([]string{"--help"}, &stderr); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	out := stderr.String()
	for _, secret := range []string{"Db-Pa55", "Nats-T0ken", "Temporal-K3y"} {
		if strings.Contains(out, secret) {
			t.Errorf("--help shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "postgres://relutune:xxxxx@db:5432/relutune") || !strings.Contains(out, "nats://xxxxx@nats:4222") {
		t.Errorf("--help does not show the masked URLs:\n%s", out)
	}
}
