package process

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

// natsServer is a private nats-server on a free port, with its own
// configuration, stopped at the end of the test. The shared NATS is never
// touched.
type natsServer struct {
	t    *testing.T
	conf string
	port int
	cmd  *exec.Cmd
}

// startNATS writes conf (with PORT replaced by a free port) and starts
// nats-server with it.
func startNATS(t *testing.T, conf string) *natsServer {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no nats-server")
	}
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Fatalf("nats-server is not on PATH (set RELUTUNE_SKIP_INTEGRATION=1 to skip): %v", err)
	}
	s := &natsServer{t: t, port: freePort(t)}
	s.conf = filepath.Join(t.TempDir(), "nats.conf")
	conf = strings.ReplaceAll(conf, "PORT", fmt.Sprint(s.port))
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("nats-server", "-c", s.conf)
	out := &logBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr())
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("nats-server did not listen on %s: %v\n%s", s.addr(), err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server at once, as a crash or a lost host would.
func (s *natsServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *natsServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }
func (s *natsServer) url() string  { return "nats://" + s.addr() }

// newUserNKey creates a user nkey and writes its seed to a file.
func newUserNKey(t *testing.T) (pub, seedFile string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err = kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, seedFile
}

// TestNATSTLSAndCredentials runs a nats-server that requires TLS with a
// client certificate from the test CA and one of two users (an nkey, and a
// user with a password), and checks that each credential gets in and that
// leaving out any piece keeps the client out.
func TestNATSTLSAndCredentials(t *testing.T) {
	pki := newTestPKI(t)
	pub, seed := newUserNKey(t)
	_, otherSeed := newUserNKey(t)
	srv := startNATS(t, fmt.Sprintf(`
listen: 127.0.0.1:PORT
tls {
  cert_file: %q
  key_file: %q
  ca_file: %q
  verify: true
  timeout: 5
}
authorization {
  users = [
    {user: alice, password: "alice-Pa55word"}
    {nkey: %s}
  ]
}
`, pki.ServerCert, pki.ServerKey, pki.CA, pub))

	mtls := TLSFiles{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	tests := []struct {
		name   string
		url    string
		auth   NATSAuth
		ok     bool
		hidden string // must not appear in the error
	}{
		{"nkey over mTLS", srv.url(), NATSAuth{NKeyFile: seed, TLSFiles: mtls}, true, ""},
		{"user and password over mTLS", srv.url(), NATSAuth{User: "alice", Password: "alice-Pa55word", TLSFiles: mtls}, true, ""},
		{"user and password in the URL", "nats://alice:alice-Pa55word@" + srv.addr(), NATSAuth{TLSFiles: mtls}, true, ""},
		{"tls:// scheme with CA from the flag", "tls://" + srv.addr(), NATSAuth{NKeyFile: seed, TLSFiles: mtls}, true, ""},
		{"no credentials", srv.url(), NATSAuth{TLSFiles: mtls}, false, ""},
		{"unknown nkey", srv.url(), NATSAuth{NKeyFile: otherSeed, TLSFiles: mtls}, false, ""},
		{"wrong password", srv.url(), NATSAuth{User: "alice", Password: "Wr0ngPassw0rd", TLSFiles: mtls}, false, "Wr0ngPassw0rd"},
		{"wrong password in the URL", "nats://alice:Wr0ngPassw0rd@" + srv.addr(), NATSAuth{TLSFiles: mtls}, false, "Wr0ngPassw0rd"},
		{"no client certificate", srv.url(), NATSAuth{NKeyFile: seed, TLSFiles: TLSFiles{CAFile: pki.CA}}, false, ""},
		{"client certificate from another CA", srv.url(), NATSAuth{NKeyFile: seed,
			TLSFiles: TLSFiles{CAFile: pki.CA, CertFile: pki.OtherClientCert, KeyFile: pki.OtherClientKey}}, false, ""},
		{"server certificate not trusted", srv.url(), NATSAuth{NKeyFile: seed,
			TLSFiles: TLSFiles{CAFile: pki.OtherCA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}, false, ""},
		{"no TLS options: the server's certificate is not in the system roots", srv.url(), NATSAuth{NKeyFile: seed}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			conn := Connections{NATSURL: tt.url, NATS: tt.auth}
			nc, _, err := ConnectNATS(conn, "cred-test", logs.logger())
			if tt.ok {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				defer nc.Close()
				if _, err := nc.TLSConnectionState(); err != nil {
					t.Errorf("connection is not TLS: %v", err)
				}
				if err := nc.Publish("cred.test", []byte("x")); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Errorf("flush: %v", err)
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("connected without the right credentials or certificates")
			}
			if tt.hidden != "" && (strings.Contains(err.Error(), tt.hidden) || strings.Contains(logs.String(), tt.hidden)) {
				t.Errorf("the password shows: err %q, log %q", err, logs.String())
			}
			if strings.Contains(tt.url, "@") && !strings.Contains(err.Error(), "alice:xxxxx@") {
				t.Errorf("error %q does not name the URL with its password masked", err)
			}
		})
	}
}

// fakeNATS accepts one client, sends INFO with a nonce, and returns the
// client's CONNECT arguments; it then refuses the client.
func fakeNATS(t *testing.T, nonce string) (url string, connect <-chan map[string]any) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan map[string]any, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "INFO {\"server_id\":\"fake\",\"version\":\"2.10.0\",\"proto\":1,\"max_payload\":1048576,\"auth_required\":true,\"nonce\":%q}\r\n", nonce)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return
		}
		var args map[string]any
		if js, ok := strings.CutPrefix(strings.TrimSpace(line), "CONNECT "); ok {
			_ = json.Unmarshal([]byte(js), &args)
		}
		ch <- args
		fmt.Fprint(c, "-ERR 'Authorization Violation'\r\n")
	}()
	return "nats://" + ln.Addr().String(), ch
}

// TestNATSCredsFileWiring checks what --nats-creds and --nats-token make
// the client send: the JWT from the credentials file with the server's
// nonce signed by the file's seed, and the token. (A server that checks
// JWTs needs an operator and account setup; what matters here is that the
// option reaches the client.)
func TestNATSCredsFileWiring(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
	creds := filepath.Join(t.TempDir(), "user.creds")
	body := fmt.Sprintf(`-----BEGIN NATS USER JWT-----
%s
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
%s
------END USER NKEY SEED------
`, jwt, seed)
	if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("creds file", func(t *testing.T) {
		url, connect := fakeNATS(t, "nonce-123")
		_, _, err := ConnectNATS(Connections{NATSURL: url, NATS: NATSAuth{CredsFile: creds}}, "wiring", (&logBuffer{}).logger())
		if err == nil {
			t.Fatal("the fake server refuses everyone, yet connect succeeded")
		}
		args := <-connect
		if args["jwt"] != jwt {
			t.Errorf("CONNECT jwt = %v, want the JWT from the file", args["jwt"])
		}
		sigText, _ := args["sig"].(string)
		sig, err := base64.RawURLEncoding.DecodeString(sigText)
		if err != nil {
			t.Fatalf("CONNECT sig %q: %v", sigText, err)
		}
		verifier, err := nkeys.FromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifier.Verify([]byte("nonce-123"), sig); err != nil {
			t.Errorf("the nonce is not signed by the file's seed: %v", err)
		}
	})

	t.Run("token", func(t *testing.T) {
		url, connect := fakeNATS(t, "n")
		_, _, err := ConnectNATS(Connections{NATSURL: url, NATS: NATSAuth{Token: "tok-SECRET-1"}}, "wiring", (&logBuffer{}).logger())
		if err == nil {
			t.Fatal("connect succeeded")
		}
		if args := <-connect; args["auth_token"] != "tok-SECRET-1" {
			t.Errorf("CONNECT auth_token = %v, want the token", args["auth_token"])
		}
	})

	t.Run("not a creds file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.creds")
		if err := os.WriteFile(bad, []byte("user=alice\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := NATSOptions(Connections{NATS: NATSAuth{CredsFile: bad}}, (&logBuffer{}).logger())
		if err == nil || !strings.Contains(err.Error(), "--nats-creds "+bad+": not a NATS credentials file") {
			t.Errorf("err = %v", err)
		}
		_, err = NATSOptions(Connections{NATS: NATSAuth{CredsFile: bad + ".missing"}}, (&logBuffer{}).logger())
		if err == nil || !strings.Contains(err.Error(), "--nats-creds") {
			t.Errorf("missing file: err = %v", err)
		}
	})
}

func TestNATSOptionsErrors(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		auth NATSAuth
		want string
	}{
		{"missing nkey seed", NATSAuth{NKeyFile: filepath.Join(dir, "nope.nk")}, "--nats-nkey " + filepath.Join(dir, "nope.nk")},
		{"missing CA", NATSAuth{TLSFiles: TLSFiles{CAFile: filepath.Join(dir, "nope.pem")}}, "--nats-tls-ca"},
		{"key does not match", NATSAuth{TLSFiles: TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ServerKey}}, "--nats-tls-cert " + pki.ClientCert},
		{"two credentials", NATSAuth{User: "a", Token: "t"}, "NATS takes one of"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NATSOptions(Connections{NATS: tt.auth}, (&logBuffer{}).logger())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestNATSConnectionEventsLogged kills a private nats-server under a
// connected client and starts it again: the log must show the lost
// connection and the reconnect, with the URL's password masked; an
// asynchronous permission error is logged too.
func TestNATSConnectionEventsLogged(t *testing.T) {
	srv := startNATS(t, `
listen: 127.0.0.1:PORT
authorization {
  users = [
    {user: bob, password: "bob-Pa55word", permissions: {publish: {deny: ["forbidden.>"]}}}
  ]
}
`)
	var logs logBuffer
	url := "nats://bob:bob-Pa55word@" + srv.addr()
	nc, _, err := ConnectNATS(Connections{NATSURL: url}, "events-test", logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	if err := nc.Publish("forbidden.x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "nats asynchronous error")

	srv.stop()
	logs.waitFor(t, "nats connection lost; reconnecting")
	srv.start()
	logs.waitFor(t, "nats reconnected")
	if err := nc.Flush(); err != nil {
		t.Errorf("flush after reconnect: %v", err)
	}

	out := logs.String()
	if strings.Contains(out, "bob-Pa55word") {
		t.Errorf("the password is in the log:\n%s", out)
	}
	if !strings.Contains(out, "bob:xxxxx@"+srv.addr()) {
		t.Errorf("the log does not name the server with its password masked:\n%s", out)
	}
	for _, want := range []string{"level=WARN msg=\"nats connection lost; reconnecting\"", "level=INFO msg=\"nats reconnected\"", "component=nats", "Permissions Violation"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
