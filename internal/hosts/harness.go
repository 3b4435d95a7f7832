//go:build hosts && linux

package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Names and addresses of everything the harness makes.
const (
	Prefix   = "rth"
	Bridge   = Prefix + "-br0"
	BridgeIP = "10.77.0.1"
	// StateDir records the processes started in the root namespace, so a
	// run that died can have them swept by the next.
	StateDir = "/tmp/relutune-hosts"
)

// ServicesIP is the address of the services host, where the Temporal dev
// server runs (see StartTemporal).
const ServicesIP = "10.77.0.2"

// HostIP is the address of host i (0-based).
func HostIP(i int) string { return fmt.Sprintf("10.77.0.%d", 10+i) }

// Host is a worker host: a network namespace linked to the bridge and an
// empty working directory.
type Host struct {
	Name string // rth-h<i>
	IP   string
	Dir  string
	veth string // the root side of its veth pair, on the bridge

	mu    sync.Mutex
	procs []*Proc
}

// Proc is a process the harness started.
type Proc struct {
	Name    string
	cmd     *exec.Cmd
	done    chan struct{}
	pidFile string

	mu  sync.Mutex
	out bytes.Buffer
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out.Len() > 4<<20 { // keep the tail bounded
		p.out.Next(p.out.Len() - 2<<20)
	}
	return p.out.Write(b)
}

// Output returns what the process wrote (its last few MiB).
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL to the process and its group and waits for it.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Stop sends SIGTERM and waits up to limit before killing.
func (p *Proc) Stop(limit time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(limit):
		p.Kill()
	}
}

// run is `ip` (or any command) that must succeed.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Start runs bin with args in namespace ns ("" for the root namespace)
// and working directory dir. The process dies with the test process
// (parent-death signal); in the root namespace it is also recorded in
// StateDir for Sweep.
func Start(ns, name, dir string, env []string, bin string, args ...string) (*Proc, error) {
	var cmd *exec.Cmd
	if ns == "" {
		cmd = exec.Command(bin, args...)
	} else {
		// ip netns exec enters the namespace and execs bin: the pid stays.
		cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = p, p
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if ns == "" {
		if err := os.MkdirAll(StateDir, 0o755); err == nil {
			p.pidFile = filepath.Join(StateDir, fmt.Sprintf("%s-%d.pid", name, cmd.Process.Pid))
			_ = os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"+bin+"\n"), 0o644)
			go func() {
				<-p.done
				_ = os.Remove(p.pidFile)
			}()
		}
	}
	return p, nil
}

// Lock takes the machine-wide lock of the harness (a file in StateDir),
// waiting while another run holds it: two runs would share the names
// Prefix gives, and each one's Sweep would remove the other's hosts. The
// lock goes with the process.
func Lock() (*os.File, error) {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(StateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return f, nil
	}
	fmt.Fprintln(os.Stderr, "hosts: another run holds", f.Name(), "; waiting for it")
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// Sweep removes what an earlier run that died left: namespaces and links
// named with Prefix, and the root-namespace processes in StateDir (only
// those whose executable is still the one recorded).
func Sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix+"-") {
			continue
		}
		killNamespace(f[0])
		_ = run("ip", "netns", "del", f[0])
	}
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, Prefix+"-") {
			_ = run("ip", "link", "del", name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(StateDir, "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.SplitN(string(b), "\n", 3)
		pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
		if err == nil && len(lines) > 1 && pid > 1 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && sameFile(exe, strings.TrimSpace(lines[1])) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.Remove(f)
	}
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// killNamespace kills every process in namespace ns.
func killNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Network is the bridge and the hosts on it.
type Network struct {
	Hosts    []*Host
	Services *Host // runs the Temporal dev server
}

// NewNetwork makes the bridge (BridgeIP/24) and n hosts, each with its
// own empty working directory under root. On error what was made is
// removed again.
func NewNetwork(n int, root string) (_ *Network, err error) {
	nw := &Network{}
	defer func() {
		if err != nil {
			nw.Close()
		}
	}()
	steps := [][]string{
		{"link", "add", Bridge, "type", "bridge"},
		{"addr", "add", BridgeIP + "/24", "dev", Bridge},
		{"link", "set", Bridge, "up"},
	}
	for _, s := range steps {
		if err := run("ip", s...); err != nil {
			return nil, err
		}
	}
	for i := -1; i < n; i++ {
		h := &Host{Name: fmt.Sprintf("%s-h%d", Prefix, i), IP: HostIP(i), veth: fmt.Sprintf("%s-h%da", Prefix, i)}
		peer := fmt.Sprintf("%s-h%db", Prefix, i)
		if i < 0 {
			h = &Host{Name: Prefix + "-svc", IP: ServicesIP, veth: Prefix + "-svca"}
			peer = Prefix + "-svcb"
			nw.Services = h
		} else {
			nw.Hosts = append(nw.Hosts, h)
		}
		h.Dir = filepath.Join(root, h.Name)
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			return nil, err
		}
		for _, s := range [][]string{
			{"netns", "add", h.Name},
			{"link", "add", h.veth, "type", "veth", "peer", "name", peer},
			{"link", "set", h.veth, "master", Bridge},
			{"link", "set", h.veth, "up"},
			{"link", "set", peer, "netns", h.Name},
			{"-n", h.Name, "link", "set", peer, "name", "eth0"},
			{"-n", h.Name, "addr", "add", h.IP + "/24", "dev", "eth0"},
			{"-n", h.Name, "link", "set", "eth0", "up"},
			{"-n", h.Name, "link", "set", "lo", "up"},
		} {
			if err := run("ip", s...); err != nil {
				return nil, err
			}
		}
	}
	return nw, nil
}

// Close kills every process on the hosts and removes the namespaces,
// links and bridge.
func (nw *Network) Close() {
	hosts := nw.Hosts
	if nw.Services != nil {
		hosts = append(hosts, nw.Services)
	}
	for _, h := range hosts {
		h.KillProcs()
		killNamespace(h.Name)
		_ = run("ip", "netns", "del", h.Name)
		_ = run("ip", "link", "del", h.veth)
	}
	_ = run("ip", "link", "del", Bridge)
}

// Start runs bin on the host, in a fresh working directory under the
// host's.
func (h *Host) Start(name string, env []string, bin string, args ...string) (*Proc, error) {
	dir, err := os.MkdirTemp(h.Dir, name+"-")
	if err != nil {
		return nil, err
	}
	p, err := Start(h.Name, h.Name+"-"+name, dir, env, bin, args...)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p, nil
}

// KillProcs kills every process the harness started on the host.
func (h *Host) KillProcs() {
	h.mu.Lock()
	procs := h.procs
	h.procs = nil
	h.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
}

// Procs returns the processes started on the host and not yet killed.
func (h *Host) Procs() []*Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Proc(nil), h.procs...)
}

// Kill is a host lost for good: its processes killed, its link down.
func (h *Host) Kill() error {
	h.KillProcs()
	killNamespace(h.Name)
	return h.Cut()
}

// Cut takes the host's link down: its processes live on, unreachable.
func (h *Host) Cut() error { return run("ip", "link", "set", h.veth, "down") }

// Restore brings the host's link up again.
func (h *Host) Restore() error { return run("ip", "link", "set", h.veth, "up") }

// Temporal is a Temporal dev server on the bridge's address.
type Temporal struct {
	Addr string
	proc *Proc
}

// StartTemporal runs the dev server bin on the services host, at
// ServicesIP:port, in memory, with relutune's search attributes and the
// dispatch settings `make up` uses, and waits until its default namespace
// answers.
//
// The dev server dials its own internal services at 127.0.0.1 whatever
// --ip says, so it listens on every address of its namespace (0.0.0.0):
// there, those are its loopback and ServicesIP only.
func StartTemporal(ctx context.Context, svc *Host, bin string, port int) (*Temporal, error) {
	addr := svc.IP + ":" + strconv.Itoa(port)
	p, err := svc.Start("temporal", nil, bin, "server", "start-dev",
		"--ip", "0.0.0.0", "--port", strconv.Itoa(port), "--headless",
		"--http-port", strconv.Itoa(port+1), "--metrics-port", strconv.Itoa(port+2),
		"--log-level", "error",
		"--search-attribute", "RelutuneStudy=Keyword",
		"--search-attribute", "RelutuneActivation=Keyword",
		"--search-attribute", "RelutuneBest=Double",
		"--search-attribute", "RelutuneStatus=Keyword",
		"--dynamic-config-value", "history.transferProcessorMaxPollRPS=2000",
		"--dynamic-config-value", "system.enableActivityEagerExecution=true")
	if err != nil {
		return nil, err
	}
	t := &Temporal{Addr: addr, proc: p}
	for {
		err := exec.CommandContext(ctx, bin, "operator", "namespace", "describe", "--address", addr, "default").Run()
		if err == nil {
			return t, nil
		}
		if p.Exited() {
			return nil, fmt.Errorf("temporal dev server exited: %s", tail(p.Output(), 2000))
		}
		select {
		case <-ctx.Done():
			p.Kill()
			return nil, fmt.Errorf("temporal dev server at %s not ready: %w", addr, errors.Join(ctx.Err(), err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops the server.
func (t *Temporal) Close() { t.proc.Kill() }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// A Proc collects its process's output.
var _ io.Writer = (*Proc)(nil)
