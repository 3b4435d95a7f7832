package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/trainer"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, "--concurrency: 0 must be >= 1"},
		{[]string{"--log-level", "loud"}, `--log-level: "loud" is not a level`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--temporal-tls-cert", "c.pem"}, `--temporal-tls-cert "c.pem" is set but --temporal-tls-key is not`},
		{[]string{"--nats-nkey", "u.nk", "--nats-token", "t"}, "NATS takes one of"},
		{[]string{"--checkpoint-backend", "s3"}, `--checkpoint-backend: "s3" must be objstore or dir`},
		{[]string{"--checkpoint-replicas", "7"}, "replicas 7 must be between 1 and 5"},
		{[]string{"--checkpoint-replicas", "two"}, `--checkpoint-replicas: "two" must be a whole number from 1 to 5`},
		{[]string{"--checkpoint-bucket", "a.b"}, `bucket "a.b" must be letters, digits, '-' and '_'`},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestDataDir(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"--data-dir", "/does/not/exist"}, &stderr); code != 2 || !strings.Contains(stderr.String(), `--data-dir: trainer: dataset: data root "/does/not/exist"`) {
		t.Errorf("a missing --data-dir: exit %d, stderr %q; want 2 naming the flag", code, stderr.String())
	}
	t.Setenv(trainer.EnvMaxDatasetBytes, "lots")
	stderr.Reset()
	if code := run([]string{"--data-dir", t.TempDir()}, &stderr); code != 2 || !strings.Contains(stderr.String(), trainer.EnvMaxDatasetBytes+`: "lots"`) {
		t.Errorf("a bad %s: exit %d, stderr %q; want 2 naming it", trainer.EnvMaxDatasetBytes, code, stderr.String())
	}
	t.Setenv(trainer.EnvMaxDatasetBytes, "")

	// The flag decides where this process's trials read their files.
	dir := t.TempDir()
	var csv strings.Builder
	for i := range 20 {
		fmt.Fprintf(&csv, "%d,%d\n", i, i%2)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setDataLoader(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := trainer.LoadDataset("csv:d.csv", 1); err != nil {
		t.Errorf("csv:d.csv under --data-dir: %v", err)
	}
	if _, err := trainer.LoadDataset("csv:"+filepath.Join(t.TempDir(), "d.csv"), 1); err == nil || !strings.Contains(err.Error(), "outside the data root") {
		t.Errorf("a file outside --data-dir: err = %v, want it refused", err)
	}
}

func TestWorkerNameMustFitTheSink(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("w", 257), "bad\x00name", "\xff"} {
		var stderr bytes.Buffer
		if code := run([]string{"--name", name}, &stderr); code != 2 {
			t.Errorf("--name %q: exit %d, want 2 (stderr %q)", name, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "--name") {
			t.Errorf("--name %q: error %q does not name the flag", name, stderr.String())
		}
	}
}

func TestWorkerMaxTrialMemory(t *testing.T) {
	for _, v := range []string{"0", "-1GiB", "lots"} {
		var stderr bytes.Buffer
		if code := run([]string{"--max-trial-memory", v}, &stderr); code != 2 || !strings.Contains(stderr.String(), "--max-trial-memory") {
			t.Errorf("--max-trial-memory %q: exit %d, stderr %q; want 2 naming the flag", v, code, stderr.String())
		}
	}
}
