package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composePath = "../docker-compose.yml"
	docsPath    = "../docs/docker.md"
)

// relutuneServices are the services that run the relutune image, with the
// binary each one runs.
var relutuneServices = map[string]string{
	"controller": "controller",
	"worker":     "worker",
	"tunectl":    "tunectl",
	"dashboard":  "tunectl",
}

// documentedEnv is every RELUTUNE_* variable the compose file sets, as listed
// in docs/docker.md. Adding a variable to a service means adding it here and
// to the docs.
var documentedEnv = []string{
	"RELUTUNE_CHECKPOINT_DIR",
	"RELUTUNE_DATABASE_URL",
	"RELUTUNE_DATA_DIR",
	"RELUTUNE_HTTP_ADDR",
	"RELUTUNE_MNIST_DIR",
	"RELUTUNE_NATS_URL",
	"RELUTUNE_READER_URL",
	"RELUTUNE_TEMPORAL_ADDRESS",
	"RELUTUNE_TEMPORAL_NAMESPACE",
	"RELUTUNE_TEMPORAL_UI",
}

// loadProject loads the compose file the way `docker compose` does, with
// every profile enabled and no variables taken from the test's environment.
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composePath},
		cli.WithWorkingDirectory(".."),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load %s: %v", composePath, err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

func env(s types.ServiceConfig) map[string]string {
	m := make(map[string]string, len(s.Environment))
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		} else {
			m[k] = ""
		}
	}
	return m
}

func TestServicesExist(t *testing.T) {
	p := loadProject(t)
	got := p.ServiceNames()
	sort.Strings(got)
	want := []string{"controller", "dashboard", "nats", "postgres", "temporal", "tunectl", "worker"}
	if !slices.Equal(got, want) {
		t.Errorf("services = %v, want %v", got, want)
	}
	if p.Name != "relutune" {
		t.Errorf("project name = %q, want %q (volume and network names derive from it)", p.Name, "relutune")
	}
}

func TestImages(t *testing.T) {
	p := loadProject(t)
	tests := []struct {
		service string
		want    string
	}{
		{"postgres", "postgres:15"},
		// Not the scratch variant: the healthcheck runs wget.
		{"nats", "nats:2.10-alpine"},
		// Pinned: the CLI image's layout (binary on PATH, uid 1000 owning
		// /home/temporal) is what the healthcheck and the volume rely on.
		{"temporal", "temporalio/temporal:1.9.1"},
		{"controller", "relutune:local"},
		{"worker", "relutune:local"},
		{"tunectl", "relutune:local"},
		{"dashboard", "relutune:local"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if got := service(t, p, tt.service).Image; got != tt.want {
				t.Errorf("image = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPublishedPorts(t *testing.T) {
	p := loadProject(t)
	type port struct {
		HostIP    string
		Published string
		Target    uint32
	}
	tests := []struct {
		service string
		want    []port
	}{
		{"postgres", []port{{"127.0.0.1", "5432", 5432}}},
		{"nats", []port{{"127.0.0.1", "4222", 4222}}},
		{"temporal", []port{{"127.0.0.1", "7233", 7233}, {"127.0.0.1", "8233", 8233}}},
		{"controller", nil},
		{"worker", nil},
		{"tunectl", nil},
		{"dashboard", []port{{"127.0.0.1", "8080", 8080}}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			var got []port
			for _, pc := range service(t, p, tt.service).Ports {
				got = append(got, port{pc.HostIP, pc.Published, pc.Target})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ports = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPublishedPortsLoopbackOnly checks every port of every service, not a
// list: a port published without a host IP listens on every interface,
// and the services behind them have no TLS and a well-known password.
func TestPublishedPortsLoopbackOnly(t *testing.T) {
	p := loadProject(t)
	n := 0
	for _, s := range p.Services {
		for _, pc := range s.Ports {
			n++
			if pc.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s -> %d on host IP %q, want 127.0.0.1 (see the comment at the top of docker-compose.yml)",
					s.Name, pc.Published, pc.Target, pc.HostIP)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no published ports found: the loader or the file changed")
	}
}

func TestDependencies(t *testing.T) {
	p := loadProject(t)
	tests := []struct {
		service string
		want    []string // all with condition service_healthy
	}{
		{"controller", []string{"nats", "postgres", "temporal"}},
		{"worker", []string{"nats", "temporal"}},
		{"tunectl", []string{"nats", "postgres", "temporal"}},
		{"dashboard", []string{"controller", "nats", "postgres"}},
		{"postgres", nil},
		{"nats", nil},
		{"temporal", nil},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s := service(t, p, tt.service)
			var got []string
			for name, dep := range s.DependsOn {
				got = append(got, name)
				if dep.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends_on %s: condition = %q, want %q", name, dep.Condition, types.ServiceConditionHealthy)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("depends_on = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDependedOnServicesHaveHealthchecks checks the whole graph, not a list:
// a service_healthy condition on a service without a healthcheck never
// becomes true and `docker compose up` hangs.
func TestDependedOnServicesHaveHealthchecks(t *testing.T) {
	p := loadProject(t)
	needed := map[string]bool{"controller": true, "worker": true} // long-running: `up --wait` needs them
	for _, s := range p.Services {
		for name := range s.DependsOn {
			needed[name] = true
		}
	}
	for name := range needed {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 {
				t.Fatalf("healthcheck = %+v, want a test command", hc)
			}
			if kind := hc.Test[0]; kind != "CMD" && kind != "CMD-SHELL" {
				t.Errorf("healthcheck test starts with %q, want CMD or CMD-SHELL", kind)
			}
			if hc.Interval == nil || hc.Retries == nil || *hc.Retries == 0 {
				t.Errorf("healthcheck interval/retries unset: %+v", hc)
			}
		})
	}
}

func TestRestartPolicies(t *testing.T) {
	p := loadProject(t)
	tests := []struct {
		service string
		want    string
	}{
		{"postgres", "unless-stopped"},
		{"nats", "unless-stopped"},
		{"temporal", "unless-stopped"},
		{"controller", "unless-stopped"},
		{"worker", "unless-stopped"},
		{"tunectl", "no"},
		{"dashboard", "unless-stopped"},
	}
	for _, tt := range tests {
		if got := service(t, p, tt.service).Restart; got != tt.want {
			t.Errorf("%s: restart = %q, want %q", tt.service, got, tt.want)
		}
	}
}

func TestRelutuneEnvironment(t *testing.T) {
	p := loadProject(t)
	const dbURL = "postgres://relutune:relutune@postgres:5432/relutune?sslmode=disable"
	tests := []struct {
		service string
		want    map[string]string
	}{
		{"controller", map[string]string{
			"RELUTUNE_DATABASE_URL":       dbURL,
			"RELUTUNE_NATS_URL":           "nats://nats:4222",
			"RELUTUNE_TEMPORAL_ADDRESS":   "temporal:7233",
			"RELUTUNE_TEMPORAL_NAMESPACE": "default",
			"RELUTUNE_HTTP_ADDR":          ":8080",
		}},
		{"worker", map[string]string{
			"RELUTUNE_NATS_URL":           "nats://nats:4222",
			"RELUTUNE_TEMPORAL_ADDRESS":   "temporal:7233",
			"RELUTUNE_TEMPORAL_NAMESPACE": "default",
			"RELUTUNE_HTTP_ADDR":          ":8080",
			"RELUTUNE_MNIST_DIR":          "/usr/share/relutune/mnist",
			"RELUTUNE_CHECKPOINT_DIR":     "/var/lib/relutune/checkpoints",
			"RELUTUNE_DATA_DIR":           "/data",
		}},
		{"tunectl", map[string]string{
			"RELUTUNE_DATABASE_URL":       dbURL,
			"RELUTUNE_NATS_URL":           "nats://nats:4222",
			"RELUTUNE_TEMPORAL_ADDRESS":   "temporal:7233",
			"RELUTUNE_TEMPORAL_NAMESPACE": "default",
		}},
		{"dashboard", map[string]string{
			"RELUTUNE_READER_URL":  "postgres://relutune_reader:relutune-reader@postgres:5432/relutune?sslmode=disable",
			"RELUTUNE_NATS_URL":    "nats://nats:4222",
			"RELUTUNE_TEMPORAL_UI": "http://localhost:8233",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := env(service(t, p, tt.service))
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected variable %s=%q", k, got[k])
				}
			}
		})
	}
}

// TestEnvironmentPointsAtServices checks each address variable against the
// compose graph itself: the host must be a service, the port one that
// service listens on, and the service one this service waits for.
func TestEnvironmentPointsAtServices(t *testing.T) {
	p := loadProject(t)
	// Ports the infrastructure services listen on inside the network.
	listens := map[string]uint32{"postgres": 5432, "nats": 4222, "temporal": 7233}
	for name := range relutuneServices {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			e := env(s)
			for _, key := range []string{"RELUTUNE_DATABASE_URL", "RELUTUNE_NATS_URL", "RELUTUNE_TEMPORAL_ADDRESS"} {
				v, ok := e[key]
				if !ok {
					continue
				}
				hostport := v
				if strings.Contains(v, "://") {
					u, err := url.Parse(v)
					if err != nil {
						t.Errorf("%s=%q: %v", key, v, err)
						continue
					}
					hostport = u.Host
				}
				host, portStr, err := net.SplitHostPort(hostport)
				if err != nil {
					t.Errorf("%s=%q: want an explicit host:port: %v", key, v, err)
					continue
				}
				wantPort, ok := listens[host]
				if !ok {
					t.Errorf("%s=%q: host %q is not one of the compose services %v", key, v, host, p.ServiceNames())
					continue
				}
				if port, _ := strconv.Atoi(portStr); uint32(port) != wantPort {
					t.Errorf("%s=%q: port %s, but %s listens on %d", key, v, portStr, host, wantPort)
				}
				if _, ok := s.DependsOn[host]; !ok {
					t.Errorf("%s=%q: %s does not depend on %s", key, v, name, host)
				}
				exposed := false
				for _, pc := range service(t, p, host).Ports {
					exposed = exposed || pc.Target == wantPort
				}
				if !exposed {
					t.Errorf("%s=%q: service %s does not declare port %d", key, v, host, wantPort)
				}
			}
		})
	}
}

func TestEnvNamesAreDocumented(t *testing.T) {
	p := loadProject(t)
	set := map[string]bool{}
	for name := range relutuneServices {
		for k := range service(t, p, name).Environment {
			set[k] = true
		}
	}
	var got []string
	for k := range set {
		got = append(got, k)
	}
	sort.Strings(got)
	if !slices.Equal(got, documentedEnv) {
		t.Errorf("variables set in compose = %v\nwant documented set  %v", got, documentedEnv)
	}
	docs, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("read docs: %v", err)
	}
	for _, k := range documentedEnv {
		if !strings.Contains(string(docs), "`"+k+"`") {
			t.Errorf("%s does not document `%s`", docsPath, k)
		}
	}
}

func TestWorkerIsScalable(t *testing.T) {
	p := loadProject(t)
	w := service(t, p, "worker")
	if w.ContainerName != "" {
		t.Errorf("worker container_name = %q: a fixed name allows one replica", w.ContainerName)
	}
	if w.Hostname != "" {
		t.Errorf("worker hostname = %q: every replica would share it", w.Hostname)
	}
	if len(w.Ports) != 0 {
		t.Errorf("worker publishes %+v: a fixed host port allows one replica", w.Ports)
	}
	if w.Scale != nil || (w.Deploy != nil && w.Deploy.Replicas != nil) {
		t.Errorf("worker pins its replica count; leave it to --scale")
	}
	if v, ok := env(w)["RELUTUNE_DATABASE_URL"]; ok {
		t.Errorf("worker has RELUTUNE_DATABASE_URL=%q: workers never touch Postgres", v)
	}
	if _, ok := w.DependsOn["postgres"]; ok {
		t.Errorf("worker depends on postgres: workers never touch Postgres")
	}
	for _, s := range p.Services {
		if s.ContainerName != "" {
			t.Errorf("%s: container_name %q would clash between two checkouts of the project", s.Name, s.ContainerName)
		}
	}
}

// TestVolumes checks that state lives in named volumes, at the paths the
// processes are told to write to.
func TestVolumes(t *testing.T) {
	p := loadProject(t)
	tests := []struct {
		service string
		source  string
		target  string
	}{
		{"postgres", "pgdata", "/var/lib/postgresql/data"},
		{"nats", "natsdata", "/data"},
		{"temporal", "temporaldata", "/home/temporal"},
		// One volume shared by every worker replica: a retried attempt can
		// resume on another worker.
		{"worker", "checkpoints", "/var/lib/relutune/checkpoints"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s := service(t, p, tt.service)
			found := false
			for _, v := range s.Volumes {
				if v.Target == tt.target {
					found = true
					if v.Type != types.VolumeTypeVolume || v.Source != tt.source {
						t.Errorf("%s mounted from %s %q, want named volume %q", tt.target, v.Type, v.Source, tt.source)
					}
				}
			}
			if !found {
				t.Errorf("no volume at %s", tt.target)
			}
			if _, ok := p.Volumes[tt.source]; !ok {
				t.Errorf("volume %q not declared at top level", tt.source)
			}
		})
	}
	if got, want := env(service(t, p, "worker"))["RELUTUNE_CHECKPOINT_DIR"], "/var/lib/relutune/checkpoints"; got != want {
		t.Errorf("worker RELUTUNE_CHECKPOINT_DIR = %q, want the volume target %q", got, want)
	}
}

// flagValues returns the values given to flag in cmd, in either the
// "--flag value" or the "--flag=value" form.
func flagValues(cmd []string, flag string) []string {
	var vals []string
	for i, a := range cmd {
		if a == flag && i+1 < len(cmd) {
			vals = append(vals, cmd[i+1])
		} else if v, ok := strings.CutPrefix(a, flag+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

func TestTemporalDevServer(t *testing.T) {
	p := loadProject(t)
	s := service(t, p, "temporal")
	cmd := []string(s.Command)
	if len(cmd) < 2 || cmd[0] != "server" || cmd[1] != "start-dev" {
		t.Fatalf("command = %q, want server start-dev ...", cmd)
	}
	gotSA := flagValues(cmd, "--search-attribute")
	sort.Strings(gotSA)
	wantSA := []string{"RelutuneActivation=Keyword", "RelutuneBest=Double", "RelutuneStatus=Keyword", "RelutuneStudy=Keyword"}
	if !slices.Equal(gotSA, wantSA) {
		t.Errorf("search attributes = %v, want %v", gotSA, wantSA)
	}
	single := []struct {
		flag string
		want string
	}{
		{"--ip", "0.0.0.0"},    // reachable from the other containers
		{"--ui-ip", "0.0.0.0"}, // reachable through the published port
		{"--port", "7233"},
		{"--ui-port", "8233"},
	}
	for _, tt := range single {
		if got := flagValues(cmd, tt.flag); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%s = %v, want [%s]", tt.flag, got, tt.want)
		}
	}
	db := flagValues(cmd, "--db-filename")
	if len(db) != 1 {
		t.Fatalf("--db-filename = %v, want one path (without it workflows vanish on restart)", db)
	}
	onVolume := false
	for _, v := range s.Volumes {
		onVolume = onVolume || (v.Type == types.VolumeTypeVolume && strings.HasPrefix(db[0], v.Target+"/"))
	}
	if !onVolume {
		t.Errorf("--db-filename %s is not inside a named volume", db[0])
	}
	wantDyn := []string{"history.transferProcessorMaxPollRPS=2000", "system.enableActivityEagerExecution=true"}
	if got := flagValues(cmd, "--dynamic-config-value"); !slices.Equal(got, wantDyn) {
		t.Errorf("--dynamic-config-value = %v, want %v", got, wantDyn)
	}
}

func TestNATSJetStream(t *testing.T) {
	p := loadProject(t)
	s := service(t, p, "nats")
	cmd := []string(s.Command)
	if !slices.Contains(cmd, "-js") && !slices.Contains(cmd, "--jetstream") {
		t.Errorf("command %q does not enable JetStream", cmd)
	}
	sd := flagValues(cmd, "-sd")
	if len(sd) != 1 || sd[0] != "/data" {
		t.Errorf("-sd = %v, want [/data] (the natsdata volume)", sd)
	}
	if m := flagValues(cmd, "-m"); !slices.Equal(m, []string{"8222"}) {
		t.Errorf("-m = %v, want [8222] (the healthcheck's port)", m)
	}
	if s.HealthCheck == nil {
		t.Fatalf("nats has no healthcheck")
	}
	test := strings.Join(s.HealthCheck.Test, " ")
	if !strings.Contains(test, "http://127.0.0.1:8222/healthz?js-enabled-only=true") {
		t.Errorf("healthcheck %q does not ask the monitoring port whether JetStream is up", test)
	}
}

func TestRelutuneServicesBuildFromDockerfile(t *testing.T) {
	p := loadProject(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	df := readDockerfile(t)
	final := df[len(df)-1]
	for name, binary := range relutuneServices {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if s.Build == nil {
				t.Fatalf("no build section")
			}
			if s.Build.Context != root {
				t.Errorf("build context = %q, want the repository root %q", s.Build.Context, root)
			}
			if filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
				t.Errorf("dockerfile = %q, want Dockerfile", s.Build.Dockerfile)
			}
			want := "/usr/local/bin/" + binary
			if got := []string(s.Entrypoint); len(got) != 1 || got[0] != want {
				t.Errorf("entrypoint = %q, want [%s]", got, want)
			}
			if !final.hasFile(want) {
				t.Errorf("entrypoint %s is not copied into the final image", want)
			}
			if s.HealthCheck != nil && len(s.HealthCheck.Test) > 1 && strings.HasPrefix(s.HealthCheck.Test[1], "/") {
				if probe := s.HealthCheck.Test[1]; !final.hasFile(probe) {
					t.Errorf("healthcheck runs %s, which is not in the final image", probe)
				}
			}
		})
	}
	// The image's own defaults agree with what compose sets.
	w := env(service(t, p, "worker"))
	for _, k := range []string{"RELUTUNE_MNIST_DIR", "RELUTUNE_CHECKPOINT_DIR", "RELUTUNE_HTTP_ADDR"} {
		if got, want := final.env[k], w[k]; got != want {
			t.Errorf("Dockerfile ENV %s = %q, compose worker sets %q", k, got, want)
		}
	}
}
