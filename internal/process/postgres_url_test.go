package process

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// fakePostgresTLS answers a Postgres SSLRequest with 'S', completes a TLS
// handshake that requires a client certificate from the test CA, reports
// the certificate the client presented, and closes: enough to see what
// pgx does with the TLS settings of a URL.
func fakePostgresTLS(t *testing.T, pki *testPKI) (addr string, clientCerts <-chan []byte) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(pki.caCert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan []byte, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req := make([]byte, 8)
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				if _, err := c.Write([]byte{'S'}); err != nil {
					return
				}
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
					ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
				if err := tc.Handshake(); err != nil {
					ch <- nil
					return
				}
				ch <- tc.ConnectionState().PeerCertificates[0].Raw
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// TestPostgresTLSThroughURL checks the form docs/security.md gives for
// Postgres TLS: the settings ride in RELUTUNE_DATABASE_URL and pgx
// verifies the server against sslrootcert, checks its name, and presents
// sslcert. (This package imports no database driver; only the test does.)
func TestPostgresTLSThroughURL(t *testing.T) {
	pki := newTestPKI(t)
	addr, certs := fakePostgresTLS(t, pki)
	_, port, _ := net.SplitHostPort(addr)
	dbURL := func(host, ca string) string {
		return "postgres://relutune:Pg-Pa55@" + host + ":" + port + "/relutune?sslmode=verify-full&connect_timeout=5" +
			"&sslrootcert=" + url.QueryEscape(ca) +
			"&sslcert=" + url.QueryEscape(pki.ClientCert) +
			"&sslkey=" + url.QueryEscape(pki.ClientKey)
	}

	t.Run("verify-full with client certificate", func(t *testing.T) {
		_, err := pgconn.Connect(context.Background(), dbURL("localhost", pki.CA))
		if err == nil {
			t.Fatal("the fake server closes after the handshake, yet the connection succeeded")
		}
		if got := <-certs; string(got) != string(pki.clientDER) {
			t.Errorf("the server did not receive the client certificate from sslcert (handshake failed: %v)", err)
		}
	})
	t.Run("server certificate from another CA", func(t *testing.T) {
		_, err := pgconn.Connect(context.Background(), dbURL("localhost", pki.OtherCA))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v, want a certificate verification error", err)
		}
		if got := <-certs; got != nil {
			t.Errorf("the handshake completed against an untrusted server")
		}
	})
}
