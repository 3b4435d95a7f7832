package trainer

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGeneratedDatasets(t *testing.T) {
	for name, classes := range map[string]int{"spirals": 3, "moons": 2, "circles": 2} {
		a, err := LoadDataset(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := LoadDataset(name, 1)
		c, _ := LoadDataset(name, 2)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: same seed, different data", name)
		}
		if reflect.DeepEqual(a.Train.floats, c.Train.floats) {
			t.Errorf("%s: seeds 1 and 2 give the same data", name)
		}
		if a.Features != 2 || a.Classes != classes || a.Train.Len() != genTrain || a.Val.Len() != genVal || a.Test.Len() != genTest {
			t.Errorf("%s: %d features, %d classes, splits %d/%d/%d", name, a.Features, a.Classes, a.Train.Len(), a.Val.Len(), a.Test.Len())
		}
		counts := make([]int, classes)
		for i := range a.Train.Len() {
			counts[a.Train.Label(i)]++
		}
		for k, n := range counts {
			if n < genTrain/classes-1 {
				t.Errorf("%s: class %d has %d training points", name, k, n)
			}
		}
	}
}

func TestLoadDatasetErrors(t *testing.T) {
	for _, name := range []string{"cifar10", "csv:", "idx:a", "csv:/does/not/exist.csv", "idx:/no/img,/no/lab"} {
		if _, err := LoadDataset(name, 1); !errors.Is(err, ErrDataset) {
			t.Errorf("LoadDataset(%q) err = %v, want ErrDataset", name, err)
		}
	}
	t.Setenv("RELUTUNE_FASHION_MNIST_DIR", "")
	if _, err := LoadDataset("fashion-mnist", 1); err == nil || !strings.Contains(err.Error(), "RELUTUNE_FASHION_MNIST_DIR") {
		t.Errorf("fashion-mnist without its directory: err = %v, want it to name RELUTUNE_FASHION_MNIST_DIR", err)
	}
}

func TestMNISTDirEnvAndError(t *testing.T) {
	t.Setenv("RELUTUNE_MNIST_DIR", "/some/where")
	if d, err := MNISTDir(); err != nil || d != "/some/where" {
		t.Fatalf("MNISTDir = %q, %v; want the env value", d, err)
	}
	t.Setenv("RELUTUNE_MNIST_DIR", "")
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("PATH", "") // no go command to ask either
	_, err := MNISTDir()
	if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "RELUTUNE_MNIST_DIR") {
		t.Fatalf("err = %v, want ErrDataset explaining RELUTUNE_MNIST_DIR", err)
	}
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("x1,x2,label\n")
	for i := range 100 {
		fmt.Fprintf(&sb, "%d,%d,%d\n", i, 2*i+1, i%3)
	}
	path := filepath.Join(dir, "d.csv")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	l := newTestLoader(t, dir, DataOptions{})
	ds, err := l.Load("csv:d.csv", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Features != 2 || ds.Classes != 3 || ds.Train.Len() != 70 || ds.Val.Len() != 15 || ds.Test.Len() != 15 {
		t.Fatalf("features %d classes %d splits %d/%d/%d", ds.Features, ds.Classes, ds.Train.Len(), ds.Val.Len(), ds.Test.Len())
	}
	// Standardised with training statistics: training features have mean 0.
	var s float64
	for i := range ds.Train.Len() {
		s += float64(ds.Train.floats[2*i])
	}
	if !close(s/70, 0, 0, 1e-5) {
		t.Errorf("training feature mean %v, want 0", s/70)
	}
	// Label and feature stay paired: x2 = 2*x1+1 before scaling, and label = x1 mod 3.
	res, err := Train(context.Background(), Config{Dataset: "csv:d.csv", Hidden: []int{4}, Epochs: 1, Seed: 1}, ds, Options{})
	if err != nil || res.Epochs != 1 {
		t.Fatalf("training on csv: %v", err)
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("1,2,0\n3,x,1\n"), 0o644)
	if _, err := l.Load("csv:bad.csv", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "bad.csv: line 2, column 2: not a finite number") {
		t.Errorf("bad csv: err = %v, want ErrDataset naming the file, line 2 and column 2", err)
	}
}

// writeIDX writes images (n x h x w) and labels as IDX files, gzipped if gz.
func writeIDX(t *testing.T, dir string, n, h, w int, gz bool) (string, string) {
	t.Helper()
	img := make([]byte, 16+n*h*w)
	binary.BigEndian.PutUint32(img, 0x803)
	binary.BigEndian.PutUint32(img[4:], uint32(n))
	binary.BigEndian.PutUint32(img[8:], uint32(h))
	binary.BigEndian.PutUint32(img[12:], uint32(w))
	lab := make([]byte, 8+n)
	binary.BigEndian.PutUint32(lab, 0x801)
	binary.BigEndian.PutUint32(lab[4:], uint32(n))
	for i := range n {
		lab[8+i] = byte(i % 4)
		for j := range h * w {
			img[16+i*h*w+j] = byte((i*7 + j) % 256)
		}
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if gz {
			zw := gzip.NewWriter(f)
			zw.Write(b)
			zw.Close()
		} else {
			f.Write(b)
		}
		return p
	}
	return write("img", img), write("lab", lab)
}

func TestIDXPair(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeIDX(t, dir, 30, 4, 3, gz)
		ds, err := newTestLoader(t, dir, DataOptions{}).Load("idx:img,lab", 1)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Features != 12 || ds.Height != 4 || ds.Width != 3 || ds.Classes != 4 || ds.Train.Len() != 24 || ds.Val.Len() != 3 || ds.Test.Len() != 3 {
			t.Fatalf("gz %v: %+v", gz, ds)
		}
		// Each example keeps its label: the first pixel of example i is 7i mod 256, its label i mod 4.
		for _, s := range []*Split{&ds.Train, &ds.Val, &ds.Test} {
			for i := range s.Len() {
				orig := int(s.bytes[i*12]) / 7
				if s.Label(i) != orig%4 {
					t.Fatalf("example %d: label %d, want %d", orig, s.Label(i), orig%4)
				}
			}
		}
		if _, err := Train(context.Background(), Config{Dataset: ds.Name, Model: CNN, Conv: []int{2}, Hidden: []int{4}, Epochs: 1, Seed: 1}, ds, Options{}); err != nil {
			t.Fatalf("cnn on idx: %v", err)
		}
	}
	dir := t.TempDir()
	writeIDX(t, dir, 10, 2, 2, false)
	if _, err := newTestLoader(t, dir, DataOptions{}).Load("idx:img,img", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "0x00000801") {
		t.Errorf("images given as labels: err = %v", err)
	}
}

// TestMNIST loads the real files (from the GoMNIST module, which the build
// downloads as a dependency) and checks the split and the normalisation.
func TestMNIST(t *testing.T) {
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Features != 784 || ds.Classes != 10 || ds.Train.Len() != 50000 || ds.Val.Len() != 10000 || ds.Test.Len() != 10000 {
		t.Fatalf("mnist: %d features, %d classes, splits %d/%d/%d", ds.Features, ds.Classes, ds.Train.Len(), ds.Val.Len(), ds.Test.Len())
	}
	again, _ := LoadDataset("mnist", 2)
	if again != ds {
		t.Error("a second LoadDataset(mnist) read the files again instead of sharing the cached copy")
	}
	x := make([]float32, 784*100)
	lab := make([]int32, 100)
	ds.Train.gatherRange(x, lab, 0, 100, 784)
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	if m := s / float64(len(x)); m < -0.2 || m > 0.2 {
		t.Errorf("normalised pixel mean of 100 images %v, want about 0", m)
	}
	// The official first training label is 5, first test label 7.
	if ds.Train.Label(0) != 5 || ds.Test.Label(0) != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", ds.Train.Label(0), ds.Test.Label(0))
	}
}

// TestMNISTSubsetLearns trains a small MLP on 5,000 MNIST images for two
// epochs: the smoke test of the whole image path (full runs are in
// scripts/bench-train.sh).
func TestMNISTSubsetLearns(t *testing.T) {
	full, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	sub := *full
	sub.Train = subsplit(full.Train, 5000)
	sub.Val = subsplit(full.Val, 1000)
	sub.Test = subsplit(full.Test, 1000)
	res, err := Train(context.Background(), Config{Dataset: "mnist", Hidden: []int{64}, Epochs: 2, Seed: 1}, &sub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAccuracy < 0.85 {
		t.Errorf("test accuracy %.3f after 2 epochs on 5,000 images, want >= 0.85", res.TestAccuracy)
	}
}

func subsplit(s Split, n int) Split {
	f := len(s.bytes) / s.n
	return Split{n: n, bytes: s.bytes[:n*f], lut: s.lut, labels: s.labels[:n]}
}

// TestMNISTSubsetCNN trains the small CNN on 3,000 MNIST images for two epochs.
func TestMNISTSubsetCNN(t *testing.T) {
	full, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	sub := *full
	sub.Train = subsplit(full.Train, 3000)
	sub.Val = subsplit(full.Val, 500)
	sub.Test = subsplit(full.Test, 500)
	res, err := Train(context.Background(), Config{Dataset: "mnist", Model: CNN, Conv: []int{8, 16}, Hidden: []int{32}, Epochs: 2, BatchSize: 32, Seed: 1}, &sub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAccuracy < 0.85 || len(res.Final.Layers) != 3 {
		t.Errorf("cnn: test accuracy %.3f after 2 epochs on 3,000 images (want >= 0.85), %d hidden layers (want 3)", res.TestAccuracy, len(res.Final.Layers))
	}
}
