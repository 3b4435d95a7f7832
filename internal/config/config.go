// Package config holds the settings shared by relutune's binaries: each has
// a flag whose default comes from an environment variable, so flags win and
// the environment gives defaults.
package config

import (
	"flag"
	"os"

	"github.com/spf13/pflag"
)

// Environment variables and their defaults.
const (
	EnvDatabaseURL       = "RELUTUNE_DATABASE_URL"
	EnvNATSURL           = "RELUTUNE_NATS_URL"
	EnvTemporalAddress   = "RELUTUNE_TEMPORAL_ADDRESS"
	EnvTemporalNamespace = "RELUTUNE_TEMPORAL_NAMESPACE"
	EnvHTTPAddr          = "RELUTUNE_HTTP_ADDR"
	EnvCheckpointDir     = "RELUTUNE_CHECKPOINT_DIR"
	EnvTemporalUI        = "RELUTUNE_TEMPORAL_UI"

	DefaultDatabaseURL       = "postgres://postgres@127.0.0.1:5432/relutune?sslmode=disable"
	DefaultNATSURL           = "nats://127.0.0.1:4222"
	DefaultTemporalAddress   = "127.0.0.1:7233"
	DefaultTemporalNamespace = "default"
	DefaultTemporalUI        = "http://127.0.0.1:8233"
)

// Env returns the value of key, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Connections are the addresses of the services relutune talks to.
type Connections struct {
	DatabaseURL       string
	NATSURL           string
	TemporalAddress   string
	TemporalNamespace string
}

// flagSet is what both the standard library's and pflag's flag sets offer.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
}

var (
	_ flagSet = (*flag.FlagSet)(nil)
	_ flagSet = (*pflag.FlagSet)(nil)
)

// Register adds --database-url, --nats-url, --temporal-address and
// --temporal-namespace to fs, with defaults from the environment. Pass
// database=false for processes that never touch Postgres.
func (c *Connections) Register(fs flagSet, database bool) {
	if database {
		fs.StringVar(&c.DatabaseURL, "database-url", Env(EnvDatabaseURL, DefaultDatabaseURL), "Postgres URL (env "+EnvDatabaseURL+")")
	}
	fs.StringVar(&c.NATSURL, "nats-url", Env(EnvNATSURL, DefaultNATSURL), "NATS URL (env "+EnvNATSURL+")")
	fs.StringVar(&c.TemporalAddress, "temporal-address", Env(EnvTemporalAddress, DefaultTemporalAddress), "Temporal frontend host:port (env "+EnvTemporalAddress+")")
	fs.StringVar(&c.TemporalNamespace, "temporal-namespace", Env(EnvTemporalNamespace, DefaultTemporalNamespace), "Temporal namespace (env "+EnvTemporalNamespace+")")
}
