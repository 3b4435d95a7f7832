// Package natstest runs a private nats-server process with JetStream for
// tests that kill, restart or freeze the server. It never touches the NATS
// a local cluster or CI shares: each Server has its own port and store
// directory, and is killed when the test ends.
package natstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Binary is the nats-server executable the package runs; the
// RELUTUNE_NATS_SERVER environment variable overrides it.
func Binary() string {
	if b := os.Getenv("RELUTUNE_NATS_SERVER"); b != "" {
		return b
	}
	return "nats-server"
}

// Server is one nats-server process (and its restarts) on a fixed port
// and store directory.
type Server struct {
	Host string
	Port int
	URL  string

	t        testing.TB
	storeDir string
	logFile  string
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	stopped  bool
}

// Start runs nats-server with JetStream on a free port and waits until
// JetStream answers. The test fails when the binary is missing: tests that
// use it need the real server. Skip with RELUTUNE_SKIP_INTEGRATION=1.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1")
}

// StartOn is Start with the server listening on host (an address of this
// machine, such as a bridge's) instead of the loopback address.
func StartOn(t testing.TB, host string) *Server {
	t.Helper()
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		t.Skip("RELUTUNE_SKIP_INTEGRATION=1: no nats-server")
	}
	bin, err := exec.LookPath(Binary())
	if err != nil {
		t.Fatalf("natstest: %s not found (install nats-server or set RELUTUNE_NATS_SERVER): %v", Binary(), err)
	}
	dir := t.TempDir()
	s := &Server{Host: host, t: t, storeDir: filepath.Join(dir, "js"), logFile: filepath.Join(dir, "nats.log")}
	t.Cleanup(s.shutdown)
	for try := 0; ; try++ {
		s.Port = freePort(t, host)
		s.URL = "nats://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
		err := s.start(bin)
		if err == nil {
			break
		}
		if try == 4 {
			t.Fatalf("natstest: start nats-server: %v\n%s", err, s.Log())
		}
	}
	return s
}

func freePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("natstest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start launches the process and waits for JetStream, killing it again on
// failure.
func (s *Server) start(bin string) error {
	cmd := exec.Command(bin, "-a", s.Host, "-p", strconv.Itoa(s.Port), "-js", "-sd", s.storeDir, "-l", s.logFile)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.waitReady(15 * time.Second); err != nil {
		s.Kill()
		return err
	}
	return nil
}

// waitReady waits until the server answers a JetStream account request.
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited():
			return fmt.Errorf("nats-server exited while starting")
		default:
		}
		nc, err := nats.Connect(s.URL, nats.Timeout(time.Second), nats.NoReconnect())
		if err == nil {
			js, jerr := jetstream.New(nc)
			if jerr == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, jerr = js.AccountInfo(ctx)
				cancel()
			}
			nc.Close()
			if jerr == nil {
				return nil
			}
			err = jerr
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nats-server on %s not ready after %s: %v", s.URL, limit, last)
}

func (s *Server) exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Pid is the process id of the running server, 0 when none runs.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	select {
	case <-s.done:
		return 0
	default:
	}
	return s.cmd.Process.Pid
}

// Kill sends SIGKILL (kill -9) and waits for the process to go.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	// SIGKILL ends a frozen process too, without letting it run first:
	// what it had not read dies with it.
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same port and store directory
// (after Kill) and waits until JetStream answers.
func (s *Server) Restart() {
	s.t.Helper()
	bin, err := exec.LookPath(Binary())
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	var last error
	for try := 0; try < 20; try++ {
		if last = s.start(bin); last == nil {
			return
		}
		// The port can linger a moment after a kill.
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("natstest: restart nats-server on %s: %v\n%s", s.URL, last, s.Log())
}

// Freeze stops the process with SIGSTOP: connections stay open and every
// request goes unanswered, like a server that hangs.
//
// It returns once the process is stopped: a signal is delivered
// asynchronously, and a loaded machine may otherwise let the server answer
// a request sent right after Freeze.
func (s *Server) Freeze() {
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	pid := 0
	if s.cmd != nil && s.cmd.Process != nil {
		pid = s.cmd.Process.Pid
	}
	s.mu.Unlock()
	if pid == 0 {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if processState(pid) == 'T' {
			return
		}
	}
}

// processState is the state letter of /proc/<pid>/stat ('T' when
// stopped), or 0 when it cannot be read.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// Thaw continues a frozen process with SIGCONT.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Log returns the tail of the server's log file.
func (s *Server) Log() string {
	f, err := os.Open(s.logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 40 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func (s *Server) shutdown() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	s.Kill()
}

// MsgIDs counts the messages of a stream by their Nats-Msg-Id header
// (messages without one count under "").
func MsgIDs(ctx context.Context, js jetstream.JetStream, stream string) (map[string]int, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", seq, err)
		}
		ids[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	return ids, nil
}
