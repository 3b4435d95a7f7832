package process

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/relutune/relutune/internal/redact"
)

// Environment variables and their defaults.
const (
	EnvDatabaseURL       = "RELUTUNE_DATABASE_URL"
	EnvNATSURL           = "RELUTUNE_NATS_URL"
	EnvTemporalAddress   = "RELUTUNE_TEMPORAL_ADDRESS"
	EnvTemporalNamespace = "RELUTUNE_TEMPORAL_NAMESPACE"
	EnvHTTPAddr          = "RELUTUNE_HTTP_ADDR"
	EnvCheckpointDir     = "RELUTUNE_CHECKPOINT_DIR"
	// The worker's checkpoint backend (objstore or dir), the object-store
	// bucket and its replicas.
	EnvCheckpointBackend  = "RELUTUNE_CHECKPOINT_BACKEND"
	EnvCheckpointBucket   = "RELUTUNE_CHECKPOINT_BUCKET"
	EnvCheckpointReplicas = "RELUTUNE_CHECKPOINT_REPLICAS"
	EnvTemporalUI         = "RELUTUNE_TEMPORAL_UI"

	EnvTemporalTLS           = "RELUTUNE_TEMPORAL_TLS"
	EnvTemporalTLSCert       = "RELUTUNE_TEMPORAL_TLS_CERT"
	EnvTemporalTLSKey        = "RELUTUNE_TEMPORAL_TLS_KEY"
	EnvTemporalTLSCA         = "RELUTUNE_TEMPORAL_TLS_CA"
	EnvTemporalTLSServerName = "RELUTUNE_TEMPORAL_TLS_SERVER_NAME"
	EnvTemporalAPIKey        = "RELUTUNE_TEMPORAL_API_KEY"

	EnvNATSCreds    = "RELUTUNE_NATS_CREDS"
	EnvNATSNKey     = "RELUTUNE_NATS_NKEY"
	EnvNATSUser     = "RELUTUNE_NATS_USER"
	EnvNATSPassword = "RELUTUNE_NATS_PASSWORD"
	EnvNATSToken    = "RELUTUNE_NATS_TOKEN"
	EnvNATSTLS      = "RELUTUNE_NATS_TLS"
	EnvNATSTLSCert  = "RELUTUNE_NATS_TLS_CERT"
	EnvNATSTLSKey   = "RELUTUNE_NATS_TLS_KEY"
	EnvNATSTLSCA    = "RELUTUNE_NATS_TLS_CA"

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

// ErrInvalidConnections is wrapped by Connections.Validate errors.
var ErrInvalidConnections = errors.New("config: invalid connection settings")

// Connections are the addresses of the services relutune talks to and the
// credentials it presents to them. Postgres takes its TLS settings and
// password in DatabaseURL (sslmode, sslrootcert, sslcert, sslkey).
type Connections struct {
	DatabaseURL       string
	NATSURL           string
	TemporalAddress   string
	TemporalNamespace string
	Temporal          TemporalAuth
	NATS              NATSAuth
	// Telemetry is how the calls to Temporal are observed: their latency
	// in Telemetry.Metrics and, with Telemetry.Tracing, the SDK's tracing
	// interceptor. Serve fills it for the long-running processes; the
	// zero value observes nothing.
	Telemetry Telemetry

	envErr error // environment values that did not parse
}

// TLSFiles are PEM files for a TLS client: the CA that signed the server's
// certificate (empty: the system roots) and a client certificate and key
// (both or neither).
type TLSFiles struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Any reports whether any file is set.
func (f TLSFiles) Any() bool { return f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" }

// TemporalAuth is how relutune authenticates to the Temporal frontend and
// checks its certificate.
type TemporalAuth struct {
	// TLS forces TLS even when no file, server name or API key is set
	// (a server whose certificate the system roots trust).
	TLS bool
	TLSFiles
	// ServerName is the name the server's certificate must carry, when it
	// differs from the host of the address.
	ServerName string
	// APIKey is sent as a bearer token on every call (Temporal Cloud).
	APIKey string
}

// TLSEnabled reports whether the connection uses TLS: when asked to, and
// whenever a certificate, CA, server name or API key is set (an API key is
// never sent in the clear).
func (t TemporalAuth) TLSEnabled() bool {
	return t.TLS || t.Any() || t.ServerName != "" || t.APIKey != ""
}

// NATSAuth is how relutune authenticates to NATS and checks its
// certificate. At most one of CredsFile, NKeyFile, User/Password and Token
// may be set; credentials written in the URL work too, but then they show
// wherever the URL is printed unmasked by other tools.
type NATSAuth struct {
	CredsFile string // JWT and nkey seed (.creds), as nsc writes it
	NKeyFile  string // nkey seed file (SU...)
	User      string
	Password  string
	Token     string
	// TLS forces TLS even without files (the URL scheme tls:// does too).
	TLS bool
	TLSFiles
}

// TLSEnabled reports whether TLS options are set for NATS.
func (n NATSAuth) TLSEnabled() bool { return n.TLS || n.Any() }

// flagSet is what both the standard library's and pflag's flag sets offer.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

var (
	_ flagSet = (*flag.FlagSet)(nil)
	_ flagSet = (*pflag.FlagSet)(nil)
)

// Register adds the connection flags to fs, with defaults from the
// environment: --database-url, --nats-url, --temporal-address,
// --temporal-namespace and the credential and TLS flags of Temporal and
// NATS. Pass database=false for processes that never touch Postgres.
//
// Secrets (--temporal-api-key, --nats-password, --nats-token) do not show
// their environment value in --help, and URLs show theirs with the password
// masked. Call Validate after parsing.
func (c *Connections) Register(fs flagSet, database bool) {
	c.envErr = nil
	if database {
		c.DatabaseURL = Env(EnvDatabaseURL, DefaultDatabaseURL)
		varFlag(fs, (*urlValue)(&c.DatabaseURL), "database-url",
			"Postgres URL; TLS through sslmode=verify-full&sslrootcert=&sslcert=&sslkey= (env "+EnvDatabaseURL+")")
	}
	c.NATSURL = Env(EnvNATSURL, DefaultNATSURL)
	varFlag(fs, (*urlValue)(&c.NATSURL), "nats-url", "NATS URL, or several separated by commas (env "+EnvNATSURL+")")
	fs.StringVar(&c.TemporalAddress, "temporal-address", Env(EnvTemporalAddress, DefaultTemporalAddress), "Temporal frontend host:port (env "+EnvTemporalAddress+")")
	fs.StringVar(&c.TemporalNamespace, "temporal-namespace", Env(EnvTemporalNamespace, DefaultTemporalNamespace), "Temporal namespace (env "+EnvTemporalNamespace+")")

	t := &c.Temporal
	fs.BoolVar(&t.TLS, "temporal-tls", c.envBool(EnvTemporalTLS), "connect to Temporal over TLS; implied by the other --temporal-tls-* flags and --temporal-api-key (env "+EnvTemporalTLS+")")
	fs.StringVar(&t.CertFile, "temporal-tls-cert", Env(EnvTemporalTLSCert, ""), "PEM client certificate for Temporal mTLS (env "+EnvTemporalTLSCert+")")
	fs.StringVar(&t.KeyFile, "temporal-tls-key", Env(EnvTemporalTLSKey, ""), "PEM private key of --temporal-tls-cert (env "+EnvTemporalTLSKey+")")
	fs.StringVar(&t.CAFile, "temporal-tls-ca", Env(EnvTemporalTLSCA, ""), "PEM CA certificates that sign Temporal's server certificate; default the system roots (env "+EnvTemporalTLSCA+")")
	fs.StringVar(&t.ServerName, "temporal-tls-server-name", Env(EnvTemporalTLSServerName, ""), "name Temporal's certificate must carry, when not the host of --temporal-address (env "+EnvTemporalTLSServerName+")")
	t.APIKey = Env(EnvTemporalAPIKey, "")
	varFlag(fs, (*secretValue)(&t.APIKey), "temporal-api-key", "Temporal API key, sent as a bearer token over TLS; prefer the environment, a flag shows in ps (env "+EnvTemporalAPIKey+")")

	n := &c.NATS
	fs.StringVar(&n.CredsFile, "nats-creds", Env(EnvNATSCreds, ""), "NATS credentials file (JWT and nkey seed) (env "+EnvNATSCreds+")")
	fs.StringVar(&n.NKeyFile, "nats-nkey", Env(EnvNATSNKey, ""), "NATS nkey seed file (env "+EnvNATSNKey+")")
	fs.StringVar(&n.User, "nats-user", Env(EnvNATSUser, ""), "NATS user (env "+EnvNATSUser+")")
	n.Password = Env(EnvNATSPassword, "")
	varFlag(fs, (*secretValue)(&n.Password), "nats-password", "password of --nats-user; prefer the environment (env "+EnvNATSPassword+")")
	n.Token = Env(EnvNATSToken, "")
	varFlag(fs, (*secretValue)(&n.Token), "nats-token", "NATS authentication token; prefer the environment (env "+EnvNATSToken+")")
	fs.BoolVar(&n.TLS, "nats-tls", c.envBool(EnvNATSTLS), "require TLS to NATS; implied by the other --nats-tls-* flags (env "+EnvNATSTLS+")")
	fs.StringVar(&n.CertFile, "nats-tls-cert", Env(EnvNATSTLSCert, ""), "PEM client certificate for NATS mTLS (env "+EnvNATSTLSCert+")")
	fs.StringVar(&n.KeyFile, "nats-tls-key", Env(EnvNATSTLSKey, ""), "PEM private key of --nats-tls-cert (env "+EnvNATSTLSKey+")")
	fs.StringVar(&n.CAFile, "nats-tls-ca", Env(EnvNATSTLSCA, ""), "PEM CA certificates that sign the NATS server's certificate; default the system roots (env "+EnvNATSTLSCA+")")
}

// Validate checks the settings that can be checked without reading files
// or dialing: environment values that did not parse, a certificate without
// its key, and NATS credentials that exclude each other.
func (c *Connections) Validate() error {
	errs := []error{c.envErr}
	pair := func(cert, key, certFlag, keyFlag string) {
		switch {
		case cert != "" && key == "":
			errs = append(errs, fmt.Errorf("%w: --%s %q is set but --%s is not: a client certificate needs its key", ErrInvalidConnections, certFlag, cert, keyFlag))
		case cert == "" && key != "":
			errs = append(errs, fmt.Errorf("%w: --%s %q is set but --%s is not: a key needs its client certificate", ErrInvalidConnections, keyFlag, key, certFlag))
		}
	}
	pair(c.Temporal.CertFile, c.Temporal.KeyFile, "temporal-tls-cert", "temporal-tls-key")
	pair(c.NATS.CertFile, c.NATS.KeyFile, "nats-tls-cert", "nats-tls-key")
	var set []string
	for _, m := range []struct {
		flag string
		on   bool
	}{
		{"--nats-creds", c.NATS.CredsFile != ""},
		{"--nats-nkey", c.NATS.NKeyFile != ""},
		{"--nats-user", c.NATS.User != ""},
		{"--nats-token", c.NATS.Token != ""},
	} {
		if m.on {
			set = append(set, m.flag)
		}
	}
	if len(set) > 1 {
		errs = append(errs, fmt.Errorf("%w: %v are all set: NATS takes one of --nats-creds, --nats-nkey, --nats-user (with --nats-password) or --nats-token", ErrInvalidConnections, set))
	}
	if c.NATS.Password != "" && c.NATS.User == "" {
		errs = append(errs, fmt.Errorf("%w: --nats-password (or %s) is set but --nats-user is not", ErrInvalidConnections, EnvNATSPassword))
	}
	return errors.Join(errs...)
}

// envBool returns the boolean in the environment variable key, false when
// unset. A value that does not parse is reported by Validate.
func (c *Connections) envBool(key string) bool {
	v := os.Getenv(key)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.envErr = errors.Join(c.envErr, fmt.Errorf("%w: %s=%q is not a boolean (allowed: true, false, 1, 0)", ErrInvalidConnections, key, v))
	}
	return b
}

// value is a string flag value both flag and pflag accept.
type value interface {
	flag.Value
	Type() string
	ptr() *string
}

// varFlag registers v. Flag sets other than flag's and pflag's get a plain
// string flag, which shows the value unmasked in usage text.
func varFlag(fs flagSet, v value, name, usage string) {
	switch fs := fs.(type) {
	case *flag.FlagSet:
		fs.Var(v, name, usage)
	case *pflag.FlagSet:
		fs.Var(v, name, usage)
	default:
		fs.StringVar(v.ptr(), name, *v.ptr(), usage)
	}
}

// urlValue is a string flag that shows its value with passwords masked, so
// that --help does not print the password of a URL from the environment.
type urlValue string

func (v *urlValue) String() string {
	if v == nil {
		return ""
	}
	return redact.URL(string(*v))
}
func (v *urlValue) Set(s string) error { *v = urlValue(s); return nil }
func (v *urlValue) Type() string       { return "string" }
func (v *urlValue) ptr() *string       { return (*string)(v) }

// secretValue is a string flag that never shows its value.
type secretValue string

func (v *secretValue) String() string     { return "" }
func (v *secretValue) Set(s string) error { *v = secretValue(s); return nil }
func (v *secretValue) Type() string       { return "string" }
func (v *secretValue) ptr() *string       { return (*string)(v) }
