package process

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/redact"
)

// TemporalOptions builds the client options that the controller, the
// workers and tunectl dial Temporal with: address, namespace, TLS (with a
// client certificate for mTLS), the API key, the SDK's logger on log, and
// the interceptors of c.Telemetry (call latency, tracing).
func TemporalOptions(c Connections, log *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(log.With("component", "temporal")),
	}
	t := c.Temporal
	if t.TLSEnabled() {
		tc, err := clientTLS(t.TLSFiles, t.ServerName, "temporal-tls")
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	if i := c.Telemetry.Metrics.UnaryClientInterceptor(); i != nil {
		opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(i))
	}
	if c.Telemetry.Tracing != nil {
		i, err := c.Telemetry.Tracing.TemporalInterceptor()
		if err != nil {
			return client.Options{}, fmt.Errorf("tracing interceptor: %w", err)
		}
		opts.Interceptors = append(opts.Interceptors, i)
	}
	return opts, nil
}

// DialTemporal connects to the Temporal frontend with TemporalOptions.
func DialTemporal(ctx context.Context, c Connections, log *slog.Logger) (client.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts, err := TemporalOptions(c, log)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tc, err := client.DialContext(dctx, opts)
	if err != nil {
		hint := "is it running? make up starts a dev server"
		if opts.ConnectionOptions.TLS != nil {
			hint = "is it running, does its certificate verify against --temporal-tls-ca (or the system roots), and does it accept the client certificate or API key?"
		}
		return nil, redact.Error(fmt.Errorf("connect to Temporal at %s (namespace %s, TLS %s): %w (%s)",
			c.TemporalAddress, c.TemporalNamespace, onOff(opts.ConnectionOptions.TLS != nil), err, hint))
	}
	return tc, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// clientTLS builds a TLS client configuration from PEM files, checking
// each one now so that a wrong path or file is reported with its flag.
// The client certificate is read again at every handshake, so a renewed
// certificate is picked up without a restart.
func clientTLS(f TLSFiles, serverName, flagPrefix string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--%s-ca: %w", flagPrefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--%s-ca %s: no PEM certificate in the file", flagPrefix, f.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case f.CertFile == "" && f.KeyFile == "":
	case f.CertFile == "" || f.KeyFile == "":
		return nil, fmt.Errorf("--%s-cert and --%s-key: set both or neither (cert %q, key %q)", flagPrefix, flagPrefix, f.CertFile, f.KeyFile)
	default:
		load := func() (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("--%s-cert %s, --%s-key %s: %w", flagPrefix, f.CertFile, flagPrefix, f.KeyFile, err)
			}
			return &cert, nil
		}
		if _, err := load(); err != nil {
			return nil, err
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return load() }
	}
	return tc, nil
}

// NATSOptions builds the connection options that the controller, the
// workers and tunectl dial NATS with: credentials (creds file, nkey seed,
// user and password, or token), TLS, and handlers that log disconnects,
// reconnects, the connection's close and asynchronous errors on log.
func NATSOptions(c Connections, log *slog.Logger) ([]nats.Option, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	n := c.NATS
	var opts []nats.Option
	switch {
	case n.CredsFile != "":
		if err := checkCreds(n.CredsFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(n.CredsFile))
	case n.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(n.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey %s: %w", n.NKeyFile, err)
		}
		opts = append(opts, o)
	case n.User != "":
		opts = append(opts, nats.UserInfo(n.User, n.Password))
	case n.Token != "":
		opts = append(opts, nats.Token(n.Token))
	}
	if n.TLSEnabled() {
		// Checked here for errors that name the flag; nats.go reads the
		// files again at every (re)connect, so renewed certificates are
		// picked up.
		if _, err := clientTLS(n.TLSFiles, "", "nats-tls"); err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
		if n.CAFile != "" {
			opts = append(opts, nats.RootCAs(n.CAFile))
		}
		if n.CertFile != "" {
			opts = append(opts, nats.ClientCert(n.CertFile, n.KeyFile))
		}
	}
	return append(opts, natsEventLogging(log, c.NATSURL)...), nil
}

// checkCreds reports a credentials file that cannot be read or holds no
// user JWT, naming the flag; nats.go would only say so at connect time.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--nats-creds: %w", err)
	}
	if !bytes.Contains(b, []byte("BEGIN NATS USER JWT")) || !bytes.Contains(b, []byte("BEGIN USER NKEY SEED")) {
		return fmt.Errorf("--nats-creds %s: not a NATS credentials file (want a user JWT and an nkey seed, as `nsc generate creds` writes)", path)
	}
	return nil
}

// natsEventLogging logs the life of a NATS connection: a lost connection
// (warn), each reconnect (info), the close (info) and asynchronous errors
// such as slow consumers or permission violations (error). URLs are logged with secrets masked.
func natsEventLogging(log *slog.Logger, url string) []nats.Option {
	log = log.With("component", "nats", "url", redact.URL(url))
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil { // Close, or a server asking clients to move
				log.Debug("nats disconnected")
				return
			}
			log.Warn("nats connection lost; reconnecting", "err", redact.Error(err, url))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", redact.URL(nc.ConnectedUrl()), "reconnects", nc.Reconnects)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			// Reconnects are unlimited, so this is a deliberate Close or
			// the server refusing the client on reconnect.
			if err := nc.LastError(); err != nil {
				log.Info("nats connection closed", "last_err", redact.Error(err, url))
				return
			}
			log.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"err", redact.Error(err, url)}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			log.Error("nats asynchronous error", attrs...)
		}),
	}
}

// ConnectNATS dials NATS with NATSOptions and returns the connection and
// its JetStream context. name identifies the client to the server.
func ConnectNATS(c Connections, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := NATSOptions(c, log)
	if err != nil {
		return nil, nil, err
	}
	nc, js, err := events.Connect(c.NATSURL, name, opts...)
	if err != nil {
		return nil, nil, err
	}
	_, tlsErr := nc.TLSConnectionState()
	log.Debug("nats connected", "component", "nats", "server", redact.URL(nc.ConnectedUrl()), "tls", tlsErr == nil)
	return nc, js, nil
}
