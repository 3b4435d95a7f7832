package process

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// allEnv is every connection variable, so a test sees none from the
// machine it runs on.
var allEnv = []string{
	EnvDatabaseURL, EnvNATSURL, EnvTemporalAddress, EnvTemporalNamespace,
	EnvTemporalTLS, EnvTemporalTLSCert, EnvTemporalTLSKey, EnvTemporalTLSCA, EnvTemporalTLSServerName, EnvTemporalAPIKey,
	EnvNATSCreds, EnvNATSNKey, EnvNATSUser, EnvNATSPassword, EnvNATSToken, EnvNATSTLS, EnvNATSTLSCert, EnvNATSTLSKey, EnvNATSTLSCA,
}

func clearEnv(t *testing.T) {
	for _, k := range allEnv {
		t.Setenv(k, "")
	}
}

func TestRegisterFromEnvironment(t *testing.T) {
	clearEnv(t)
	env := map[string]string{
		EnvDatabaseURL:           "postgres://u:dbSecret1@db/relutune?sslmode=verify-full",
		EnvNATSURL:               "nats://n1:4222,nats://n2:4222",
		EnvTemporalTLS:           "true",
		EnvTemporalTLSCert:       "/etc/t/cert.pem",
		EnvTemporalTLSKey:        "/etc/t/key.pem",
		EnvTemporalTLSCA:         "/etc/t/ca.pem",
		EnvTemporalTLSServerName: "temporal.internal",
		EnvTemporalAPIKey:        "apiKeySecret2",
		EnvNATSUser:              "alice",
		EnvNATSPassword:          "natsSecret3",
		EnvNATSTLS:               "1",
		EnvNATSTLSCert:           "/etc/n/cert.pem",
		EnvNATSTLSKey:            "/etc/n/key.pem",
		EnvNATSTLSCA:             "/etc/n/ca.pem",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	want := Connections{
		DatabaseURL:       env[EnvDatabaseURL],
		NATSURL:           env[EnvNATSURL],
		TemporalAddress:   DefaultTemporalAddress,
		TemporalNamespace: DefaultTemporalNamespace,
		Temporal: TemporalAuth{TLS: true, TLSFiles: TLSFiles{CAFile: "/etc/t/ca.pem", CertFile: "/etc/t/cert.pem", KeyFile: "/etc/t/key.pem"},
			ServerName: "temporal.internal", APIKey: "apiKeySecret2"},
		NATS: NATSAuth{User: "alice", Password: "natsSecret3", TLS: true,
			TLSFiles: TLSFiles{CAFile: "/etc/n/ca.pem", CertFile: "/etc/n/cert.pem", KeyFile: "/etc/n/key.pem"}},
	}
	check := func(t *testing.T, got Connections, usage string) {
		t.Helper()
		if err := got.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		got.envErr = nil
		if got != want {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		for _, secret := range []string{"dbSecret1", "apiKeySecret2", "natsSecret3"} {
			if strings.Contains(usage, secret) {
				t.Errorf("usage shows %q:\n%s", secret, usage)
			}
		}
		if !strings.Contains(usage, "postgres://u:xxxxx@db/relutune") {
			t.Errorf("usage does not show the database URL's default masked:\n%s", usage)
		}
		for _, f := range []string{"temporal-tls", "temporal-tls-cert", "temporal-tls-key", "temporal-tls-ca", "temporal-tls-server-name",
			"temporal-api-key", "nats-creds", "nats-nkey", "nats-user", "nats-password", "nats-token", "nats-tls", "nats-tls-cert",
			"nats-tls-key", "nats-tls-ca"} {
			if !strings.Contains(usage, "-"+f+" ") && !strings.Contains(usage, "-"+f+"\n") && !strings.Contains(usage, "-"+f+"[") {
				t.Errorf("usage lacks --%s:\n%s", f, usage)
			}
		}
	}

	t.Run("flag", func(t *testing.T) {
		var c Connections
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var usage bytes.Buffer
		fs.SetOutput(&usage)
		c.Register(fs, true)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		fs.PrintDefaults()
		check(t, c, usage.String())
	})
	t.Run("pflag", func(t *testing.T) {
		var c Connections
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		c.Register(fs, true)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		check(t, c, fs.FlagUsages())
	})
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv(EnvTemporalAPIKey, "from-env")
	t.Setenv(EnvNATSToken, "env-token")
	t.Setenv(EnvDatabaseURL, "postgres://env/db")
	var c Connections
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.Register(fs, true)
	args := []string{"--temporal-api-key", "from-flag", "--nats-token", "flag-token", "--database-url", "postgres://flag/db",
		"--temporal-tls-server-name", "n", "--nats-tls=false"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if c.Temporal.APIKey != "from-flag" || c.NATS.Token != "flag-token" || c.DatabaseURL != "postgres://flag/db" || c.Temporal.ServerName != "n" {
		t.Errorf("flags did not win: %+v", c)
	}
	if !c.Temporal.TLSEnabled() {
		t.Errorf("a server name alone should turn Temporal TLS on")
	}
}

func TestWithoutDatabase(t *testing.T) {
	clearEnv(t)
	var c Connections
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.Register(fs, false)
	if fs.Lookup("database-url") != nil {
		t.Errorf("--database-url registered for a process without a database")
	}
	if c.NATSURL != DefaultNATSURL {
		t.Errorf("NATSURL = %q, want the default", c.NATSURL)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		c    Connections
		want []string // substrings of the error; none: valid
	}{
		{"empty", nil, Connections{}, nil},
		{"full mTLS", nil, Connections{Temporal: TemporalAuth{TLSFiles: TLSFiles{CertFile: "c", KeyFile: "k"}},
			NATS: NATSAuth{NKeyFile: "s", TLSFiles: TLSFiles{CertFile: "c", KeyFile: "k", CAFile: "ca"}}}, nil},
		{"temporal cert without key", nil, Connections{Temporal: TemporalAuth{TLSFiles: TLSFiles{CertFile: "/c.pem"}}},
			[]string{`--temporal-tls-cert "/c.pem" is set but --temporal-tls-key is not`}},
		{"temporal key without cert", nil, Connections{Temporal: TemporalAuth{TLSFiles: TLSFiles{KeyFile: "/k.pem"}}},
			[]string{`--temporal-tls-key "/k.pem" is set but --temporal-tls-cert is not`}},
		{"nats key without cert", nil, Connections{NATS: NATSAuth{TLSFiles: TLSFiles{KeyFile: "/k.pem"}}},
			[]string{`--nats-tls-key "/k.pem" is set but --nats-tls-cert is not`}},
		{"two nats credentials", nil, Connections{NATS: NATSAuth{CredsFile: "a.creds", NKeyFile: "a.nk"}},
			[]string{"[--nats-creds --nats-nkey] are all set", "NATS takes one of"}},
		{"user and token", nil, Connections{NATS: NATSAuth{User: "u", Token: "t"}}, []string{"[--nats-user --nats-token]"}},
		{"password without user", nil, Connections{NATS: NATSAuth{Password: "p"}},
			[]string{"--nats-password (or RELUTUNE_NATS_PASSWORD) is set but --nats-user is not"}},
		{"bad boolean in environment", map[string]string{EnvTemporalTLS: "yes please"}, Connections{},
			[]string{`RELUTUNE_TEMPORAL_TLS="yes please" is not a boolean`}},
		{"several errors at once", map[string]string{EnvNATSTLS: "maybe"}, Connections{NATS: NATSAuth{Password: "p"}},
			[]string{`RELUTUNE_NATS_TLS="maybe"`, "--nats-user is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := tt.c
			if tt.env != nil {
				var fromEnv Connections
				fromEnv.Register(flag.NewFlagSet("x", flag.ContinueOnError), false)
				c.envErr = fromEnv.envErr
			}
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConnections) {
				t.Fatalf("Validate = %v, want ErrInvalidConnections", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretFlagsNeverShowTheirValue(t *testing.T) {
	clearEnv(t)
	var c Connections
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.Register(fs, true)
	if err := fs.Parse([]string{"--nats-password", "pw-1", "--database-url", "postgres://u:pw-2@h/db"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("nats-password").Value.String(); got != "" {
		t.Errorf("--nats-password shows %q", got)
	}
	if got := fs.Lookup("database-url").Value.String(); got != "postgres://u:xxxxx@h/db" {
		t.Errorf("--database-url shows %q", got)
	}
	if c.NATS.Password != "pw-1" || c.DatabaseURL != "postgres://u:pw-2@h/db" {
		t.Errorf("values not set: %q %q", c.NATS.Password, c.DatabaseURL)
	}
}
