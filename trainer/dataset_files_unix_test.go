//go:build unix

package trainer

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: a named pipe with no writer must be refused at once; a plain
// open for reading would wait for a writer for ever.
func TestFIFO(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := newTestLoader(t, root, DataOptions{})
	for _, name := range []string{"csv:pipe", "idx:pipe,pipe"} {
		done := make(chan error, 1)
		go func() {
			_, err := l.Load(name, 1)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "pipe: a named pipe, not a regular file") {
				t.Errorf("Load(%q) = %v, want it refused as a named pipe", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Load(%q) is still waiting on the pipe after 30s", name)
		}
	}
}
