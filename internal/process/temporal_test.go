package process

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

func TestTemporalOptionsPlain(t *testing.T) {
	var logs logBuffer
	opts, err := TemporalOptions(Connections{TemporalAddress: "127.0.0.1:7233", TemporalNamespace: "ns"}, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "127.0.0.1:7233" || opts.Namespace != "ns" {
		t.Errorf("HostPort, Namespace = %q, %q", opts.HostPort, opts.Namespace)
	}
	if opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Errorf("TLS %v, credentials %v without any TLS or key setting", opts.ConnectionOptions.TLS, opts.Credentials)
	}
	if opts.Logger == nil {
		t.Fatal("no SDK logger: the SDK would log on its own, outside slog")
	}
	opts.Logger.Warn("from the SDK", "k", 1)
	if got := logs.String(); !strings.Contains(got, `level=WARN msg="from the SDK" component=temporal k=1`) {
		t.Errorf("the SDK logger does not write to the process's slog logger: %q", got)
	}
}

func TestTemporalOptionsTLS(t *testing.T) {
	pki := newTestPKI(t)
	conn := Connections{
		TemporalAddress: "10.0.0.1:7233",
		Temporal: TemporalAuth{
			TLSFiles:   TLSFiles{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey},
			ServerName: "temporal.internal",
			APIKey:     "key-123",
		},
	}
	opts, err := TemporalOptions(conn, (&logBuffer{}).logger())
	if err != nil {
		t.Fatal(err)
	}
	tc := opts.ConnectionOptions.TLS
	if tc == nil {
		t.Fatal("no TLS config")
	}
	if tc.ServerName != "temporal.internal" {
		t.Errorf("ServerName = %q, want temporal.internal", tc.ServerName)
	}
	if tc.MinVersion < tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want at least TLS 1.2", tc.MinVersion)
	}
	if tc.InsecureSkipVerify {
		t.Errorf("InsecureSkipVerify set")
	}
	// The pool holds our CA: the server certificate verifies against it.
	serverPEM, _ := os.ReadFile(pki.ServerCert)
	server := parsePEMCert(t, serverPEM)
	if _, err := server.Verify(x509.VerifyOptions{Roots: tc.RootCAs, DNSName: "temporal.internal"}); err != nil {
		t.Errorf("server certificate does not verify against the configured CA: %v", err)
	}
	if tc.GetClientCertificate == nil {
		t.Fatal("no client certificate")
	}
	cert, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) == 0 || string(cert.Certificate[0]) != string(pki.clientDER) {
		t.Errorf("client certificate is not the one in %s", pki.ClientCert)
	}
	if opts.Credentials == nil {
		t.Errorf("API key set but no credentials")
	}
}

func TestTemporalOptionsTLSEnabledBy(t *testing.T) {
	pki := newTestPKI(t)
	for _, tt := range []struct {
		name string
		auth TemporalAuth
	}{
		{"--temporal-tls", TemporalAuth{TLS: true}},
		{"CA only", TemporalAuth{TLSFiles: TLSFiles{CAFile: pki.CA}}},
		{"server name only", TemporalAuth{ServerName: "x"}},
		{"API key only", TemporalAuth{APIKey: "k"}},
		{"client certificate only", TemporalAuth{TLSFiles: TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := TemporalOptions(Connections{Temporal: tt.auth}, (&logBuffer{}).logger())
			if err != nil {
				t.Fatal(err)
			}
			if opts.ConnectionOptions.TLS == nil {
				t.Errorf("TLS off")
			}
		})
	}
}

func TestTemporalOptionsErrors(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		files TLSFiles
		want  string
	}{
		{"missing CA", TLSFiles{CAFile: filepath.Join(dir, "nope.pem")}, "--temporal-tls-ca: open"},
		{"CA not PEM", TLSFiles{CAFile: notPEM}, "--temporal-tls-ca " + notPEM + ": no PEM certificate"},
		{"key does not match", TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ServerKey}, "--temporal-tls-cert " + pki.ClientCert},
		{"cert without key", TLSFiles{CertFile: pki.ClientCert}, "set both or neither"},
		{"missing cert", TLSFiles{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: pki.ClientKey}, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TemporalOptions(Connections{Temporal: TemporalAuth{TLSFiles: tt.files}}, (&logBuffer{}).logger())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// fakeFrontend is the least of a Temporal frontend the SDK needs to
// connect: the gRPC health service and GetSystemInfo, over TLS that
// requires a client certificate signed by the test CA. It records the
// authorization header of each call.
type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	addr string

	mu    sync.Mutex
	auths []string
}

func (f *fakeFrontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *fakeFrontend) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...)
}

func startFakeFrontend(t *testing.T, pki *testPKI) *fakeFrontend {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(pki.caCert)
	f := &fakeFrontend{}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			f.mu.Lock()
			f.auths = append(f.auths, strings.Join(md.Get("authorization"), ","))
			f.mu.Unlock()
			return h(ctx, req)
		}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	workflowservice.RegisterWorkflowServiceServer(srv, f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return f
}

// TestDialTemporalMTLS dials a TLS gRPC frontend that requires a client
// certificate: with the configured certificate, CA and API key the client
// connects and every call carries the key; without the certificate, or
// trusting another CA, the dial fails with an error instead of hanging.
func TestDialTemporalMTLS(t *testing.T) {
	pki := newTestPKI(t)
	f := startFakeFrontend(t, pki)
	good := TemporalAuth{
		TLSFiles: TLSFiles{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey},
		APIKey:   "secret-api-key",
	}
	conn := func(a TemporalAuth) Connections {
		return Connections{TemporalAddress: f.addr, TemporalNamespace: "default", Temporal: a}
	}

	t.Run("with certificate and key", func(t *testing.T) {
		var logs logBuffer
		c, err := DialTemporal(context.Background(), conn(good), logs.logger())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		c.Close()
		auths := f.authorizations()
		if len(auths) == 0 {
			t.Fatal("the server saw no call")
		}
		for _, a := range auths {
			if a != "Bearer secret-api-key" {
				t.Errorf("authorization = %q, want the API key as a bearer token", a)
			}
		}
		if strings.Contains(logs.String(), "secret-api-key") {
			t.Errorf("the API key is in the log:\n%s", logs.String())
		}
	})

	t.Run("server name other than the host", func(t *testing.T) {
		a := good
		a.ServerName = "temporal.internal" // in the certificate's names
		c, err := DialTemporal(context.Background(), conn(a), (&logBuffer{}).logger())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		c.Close()
		a.ServerName = "wrong.example"
		if _, err := DialTemporal(context.Background(), conn(a), (&logBuffer{}).logger()); err == nil {
			t.Errorf("dial with a server name the certificate lacks succeeded")
		}
	})

	failures := []struct {
		name string
		auth TemporalAuth
	}{
		{"without client certificate", TemporalAuth{TLSFiles: TLSFiles{CAFile: pki.CA}, APIKey: "secret-api-key"}},
		{"client certificate from another CA", TemporalAuth{TLSFiles: TLSFiles{CAFile: pki.CA, CertFile: pki.OtherClientCert, KeyFile: pki.OtherClientKey}}},
		{"trusting another CA", TemporalAuth{TLSFiles: TLSFiles{CAFile: pki.OtherCA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}},
		{"system roots only", TemporalAuth{TLS: true, TLSFiles: TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DialTemporal(context.Background(), conn(tt.auth), (&logBuffer{}).logger())
			if err == nil {
				t.Fatal("dial succeeded")
			}
			if !strings.Contains(err.Error(), "TLS on") {
				t.Errorf("error %q does not say TLS was on", err)
			}
			if strings.Contains(err.Error(), "secret-api-key") {
				t.Errorf("error shows the API key: %v", err)
			}
		})
	}

	t.Run("plaintext to a TLS server", func(t *testing.T) {
		_, err := DialTemporal(context.Background(), conn(TemporalAuth{}), (&logBuffer{}).logger())
		if err == nil {
			t.Fatal("dial succeeded")
		}
	})

	t.Run("invalid settings", func(t *testing.T) {
		_, err := DialTemporal(context.Background(), conn(TemporalAuth{TLSFiles: TLSFiles{KeyFile: pki.ClientKey}}), (&logBuffer{}).logger())
		if !errors.Is(err, ErrInvalidConnections) {
			t.Errorf("err = %v, want ErrInvalidConnections", err)
		}
	})
}
