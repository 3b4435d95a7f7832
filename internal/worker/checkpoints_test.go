package worker

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckpointKeeperKeepsOnlyTheNewest writes three checkpoints and
// checks that each replace leaves only the newest, that resume opens the
// newest, and that drop removes it.
func TestCheckpointKeeperKeepsOnlyTheNewest(t *testing.T) {
	root := t.TempDir()
	k, err := newCheckpointKeeper(root, "s", 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.create(); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "s", "4"); k.dir != want {
		t.Fatalf("dir %q, want %q", k.dir, want)
	}
	for epoch := 1; epoch <= 3; epoch++ {
		path, err := k.write(epoch, func(w io.Writer) error { _, err := w.Write([]byte{byte(epoch)}); return err })
		if err != nil {
			t.Fatal(err)
		}
		k.replace(path)
		if got := files(t, k.dir); len(got) != 1 || got[0] != filepath.Base(path) {
			t.Fatalf("after epoch %d: %v, want only %s", epoch, got, filepath.Base(path))
		}
	}
	k2, _ := newCheckpointKeeper(root, "s", 4)
	f, p, ok := k2.resume("")
	if f == nil || !ok || p.Epoch != 3 || p.Checkpoint != k.newest {
		t.Fatalf("resume: %v %+v %v, want epoch 3 at %s", f, p, ok, k.newest)
	}
	f.Close()
	k2.drop()
	if got := files(t, k.dir); len(got) != 0 {
		t.Fatalf("after drop: %v", got)
	}
	if _, _, ok := k2.resume(filepath.Join(os.TempDir(), "epoch-0009.ckpt")); ok {
		t.Fatal("a hint outside the trial's directory was accepted")
	}
	if _, err := newCheckpointKeeper(root, "../x", 1); err == nil {
		t.Fatal("a study name leaving the root was accepted")
	}
}

// files lists the checkpoint files in dir by name.
func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}
