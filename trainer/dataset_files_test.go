package trainer

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// newTestLoader returns a Loader whose data root is root.
func newTestLoader(t testing.TB, root string, o DataOptions) *Loader {
	t.Helper()
	o.Root = root
	l, err := NewLoader(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// csvRows returns n rows "i,2i+1,i mod 3" under a header.
func csvRows(n int) string {
	var sb strings.Builder
	sb.WriteString("x1,x2,label\n")
	for i := range n {
		fmt.Fprintf(&sb, "%d,%d,%d\n", i, 2*i+1, i%3)
	}
	return sb.String()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// idxImages returns an IDX image file whose header says n images of h x w,
// holding body bytes of pixels.
func idxImages(n, h, w uint32, body int) []byte {
	b := make([]byte, 16+body)
	binary.BigEndian.PutUint32(b, 0x803)
	binary.BigEndian.PutUint32(b[4:], n)
	binary.BigEndian.PutUint32(b[8:], h)
	binary.BigEndian.PutUint32(b[12:], w)
	return b
}

// allocated returns the bytes f allocates on the heap.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDataRootConfinement(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	good := csvRows(30)
	writeFile(t, filepath.Join(root, "d.csv"), []byte(good))
	writeFile(t, filepath.Join(root, "sub", "e.csv"), []byte(good))
	writeFile(t, filepath.Join(base, "outside.csv"), []byte(good))
	// A file that is not data, outside the root, whose contents must not
	// show up in any error.
	writeFile(t, filepath.Join(base, "secret.csv"), []byte("root:x:0:0:SECRET-CONTENT:/root:/bin/sh\n"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(base, "outside.csv"), filepath.Join(root, "out-link.csv")))
	must(os.Symlink("../secret.csv", filepath.Join(root, "secret-link.csv")))
	must(os.Symlink(base, filepath.Join(root, "up")))
	must(os.Symlink("sub/e.csv", filepath.Join(root, "in-link.csv")))
	// The root named through a symbolic link: absolute paths through either
	// name are under it.
	must(os.Symlink(root, filepath.Join(base, "root-link")))
	l := newTestLoader(t, filepath.Join(base, "root-link"), DataOptions{})

	for _, name := range []string{
		"csv:d.csv", "csv:./sub/../d.csv", "csv:sub/e.csv", "csv:in-link.csv",
		"csv:" + filepath.Join(root, "d.csv"),
		"csv:" + filepath.Join(base, "root-link", "sub", "e.csv"),
	} {
		if _, err := l.Load(name, 1); err != nil {
			t.Errorf("Load(%q) = %v, want it read (inside the data root)", name, err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"csv:../outside.csv", "leads out of the data root"},
		{"csv:../../etc/passwd", "leads out of the data root"},
		{"csv:sub/../../secret.csv", "leads out of the data root"},
		{"csv:/etc/passwd", "outside the data root"},
		{"csv:" + filepath.Join(base, "outside.csv"), "outside the data root"},
		{"csv:" + filepath.Join(root, "..", "secret.csv"), "outside the data root"},
		{"csv:out-link.csv", "through a symbolic link"},
		{"csv:secret-link.csv", "through a symbolic link"},
		{"csv:up/secret.csv", "through a symbolic link"},
		{"idx:d.csv,../secret.csv", "leads out of the data root"},
		{"idx:/etc/passwd,d.csv", "outside the data root"},
		{"idx:up/secret.csv,d.csv", "through a symbolic link"},
		{"csv:missing.csv", "missing.csv: no such file under the data root"},
	} {
		_, err := l.Load(tc.name, 1)
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want ErrDataset saying %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "root:x") {
			t.Errorf("Load(%q): error %q repeats the file's contents", tc.name, err)
		}
	}
	// Config.Validate refuses a relative path that climbs out of any root,
	// before a worker sees it.
	for _, ds := range []string{"csv:../x.csv", "idx:a,../../b", "csv:a\x00b"} {
		c := Config{Dataset: ds, Hidden: []int{4}}.WithDefaults()
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(dataset %q) = %v, want ErrInvalidConfig", ds, err)
		}
	}
}

func TestNotRegularFiles(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "dir", "x.csv"), []byte(csvRows(20)))
	l := newTestLoader(t, root, DataOptions{})
	for _, tc := range []struct{ name, want string }{
		{"csv:dir", "dir: a directory, not a regular file"},
		{"csv:.", "a directory, not a regular file"},
		{"idx:dir,dir", "a directory, not a regular file"},
	} {
		if _, err := l.Load(tc.name, 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Fatalf("this test reads /dev/zero: %v", err)
	}
	// /dev/zero never ends: it must be refused, not read.
	dev := newTestLoader(t, "/dev", DataOptions{})
	for _, name := range []string{"idx:/dev/zero,/dev/zero", "idx:zero,zero", "csv:zero", "csv:/dev/zero"} {
		var err error
		n := bytesAllocated(func() { _, err = dev.Load(name, 1) })
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "a device, not a regular file") {
			t.Errorf("Load(%q) = %v, want it refused as a device", name, err)
		}
		if n > 1<<20 {
			t.Errorf("Load(%q) allocated %d bytes, want under 1 MiB", name, n)
		}
	}
}

// forgedGzip is a 20-byte gzip file of nothing whose trailer says it holds
// 4 GiB - 1 bytes.
func forgedGzip() []byte {
	b := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, // header
		0x03, 0x00, // an empty final block
		0, 0, 0, 0, // CRC-32 of nothing
		0xff, 0xff, 0xff, 0xff} // ISIZE: a lie
	return b
}

func TestGzipBomb(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "bomb.gz"), forgedGzip())
	// Header and trailer both claim far more than 100 bytes of gzip can hold.
	claim := idxImages(60000, 28, 28, 0)
	big := gzipBytes(t, claim)
	binary.LittleEndian.PutUint32(big[len(big)-4:], uint32(len(claim)+60000*784))
	writeFile(t, filepath.Join(root, "claim.gz"), big)
	// A real gzip file that expands past the cap: 32 MiB of CSV rows and a
	// valid IDX file of 8 Mi 1x1 images.
	rows := strings.Repeat("1000000000,1\n", 32<<20/13)
	writeFile(t, filepath.Join(root, "rows.csv.gz"), gzipBytes(t, []byte(rows)))
	writeFile(t, filepath.Join(root, "zeros.gz"), gzipBytes(t, idxImages(8<<20, 1, 1, 8<<20)))
	// An IDX file within the cap by its header, followed by 8 MiB more.
	writeFile(t, filepath.Join(root, "tail.gz"), gzipBytes(t, idxImages(100, 1, 1, 8<<20)))

	l := newTestLoader(t, root, DataOptions{MaxFileBytes: 1 << 20})
	if s, _ := os.Stat(filepath.Join(root, "rows.csv.gz")); s.Size() > 1<<20 {
		t.Fatalf("rows.csv.gz is %d bytes; the test wants it compressed under the cap", s.Size())
	}
	for _, tc := range []struct {
		name, want string
		maxAlloc   uint64
	}{
		{"idx:bomb.gz,bomb.gz", "bomb.gz: corrupt gzip file", 1 << 20},
		{"csv:bomb.gz", "bomb.gz: corrupt gzip file", 1 << 20},
		{"idx:claim.gz,claim.gz", "header says 60000 images of 28x28 (47040000 bytes), over the 1048576-byte limit", 1 << 20},
		{"csv:rows.csv.gz", "rows.csv.gz: more than 1048576 bytes once decompressed", 8 << 20},
		{"idx:zeros.gz,zeros.gz", "header says 8388608 images of 1x1 (8388608 bytes), over the 1048576-byte limit", 1 << 20},
		{"idx:tail.gz,tail.gz", "header says 100 images of 1x1 (100 bytes) but the file holds more", 1 << 20},
	} {
		var err error
		n := bytesAllocated(func() { _, err = l.Load(tc.name, 1) })
		t.Logf("%s: %d bytes allocated", tc.name, n)
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q", tc.name, err, tc.want)
		}
		if n > tc.maxAlloc {
			t.Errorf("Load(%q) allocated %d bytes, want at most %d", tc.name, n, tc.maxAlloc)
		}
	}
	// With the default cap (1 GiB) the claim is refused by what 100-odd
	// bytes of deflate can expand to, before anything is allocated for it.
	wide := newTestLoader(t, root, DataOptions{})
	var err error
	n := bytesAllocated(func() { _, err = wide.Load("idx:claim.gz,claim.gz", 1) })
	if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "gzip file can hold") || n > 1<<20 {
		t.Errorf("claim.gz under the default cap: err = %v after %d bytes allocated, want a refusal under 1 MiB", err, n)
	}
}

func TestIDXHeaderLies(t *testing.T) {
	root := t.TempDir()
	labels := func(n uint32, body int) []byte {
		b := make([]byte, 8+body)
		binary.BigEndian.PutUint32(b, 0x801)
		binary.BigEndian.PutUint32(b[4:], n)
		return b
	}
	ten := idxImages(10, 2, 2, 40)
	files := map[string][]byte{
		"ten":         ten,
		"ten-lab":     append(labels(10, 0), 0, 1, 0, 1, 0, 1, 0, 1, 0, 1),
		"many":        idxImages(1000000, 28, 28, 120),
		"huge":        idxImages(0xffffffff, 4096, 4096, 10),
		"wide":        idxImages(1, 5000, 1, 5000),
		"flat":        idxImages(10, 0, 3, 0),
		"short.gz":    gzipBytes(t, idxImages(60, 4, 3, 30*12)),
		"lab-long":    labels(5, 10),
		"lab-huge":    labels(0xffffffff, 3),
		"lab-huge.gz": gzipBytes(t, labels(0xffffffff, 3)),
		"bad-magic":   append([]byte{0, 0, 0x0d, 3}, ten[4:]...),
		"stub":        ten[:9],
	}
	for name, b := range files {
		writeFile(t, filepath.Join(root, name), b)
	}
	l := newTestLoader(t, root, DataOptions{})
	for _, tc := range []struct{ name, want string }{
		{"idx:many,ten-lab", "many: header says 1000000 images of 28x28 (784000000 bytes) but the file holds 120"},
		{"idx:huge,ten-lab", "huge: header says 4294967295 images of 4096x4096 (72057594021150720 bytes), over the 1073741824-byte limit"},
		{"idx:wide,ten-lab", "wide: header says images of 5000x1; height and width must be in [1, 4096]"},
		{"idx:flat,ten-lab", "flat: header says images of 0x3"},
		{"idx:short.gz,ten-lab", "short.gz: header says 60 images of 4x3 (720 bytes) but the file holds 360"},
		{"idx:ten,lab-long", "lab-long: header says 5 labels (5 bytes) but the file holds 10"},
		{"idx:ten,lab-huge", "lab-huge: header says 4294967295 labels (4294967295 bytes), over the 1073741824-byte limit"},
		{"idx:ten,lab-huge.gz", "lab-huge.gz: header says 4294967295 labels (4294967295 bytes), over the 1073741824-byte limit"},
		{"idx:bad-magic,ten-lab", "bad-magic: not an IDX image file (want magic 0x00000803"},
		{"idx:stub,ten-lab", "stub: too short for an IDX header"},
	} {
		var err error
		n := bytesAllocated(func() { _, err = l.Load(tc.name, 1) })
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q", tc.name, err, tc.want)
		}
		if n > 1<<20 {
			t.Errorf("Load(%q) allocated %d bytes before failing, want under 1 MiB", tc.name, n)
		}
	}
	if _, err := l.Load("idx:ten,ten-lab", 1); err != nil {
		t.Errorf("a truthful pair: %v", err)
	}
}

func TestCSVLongLine(t *testing.T) {
	root := t.TempDir()
	long := "1," + strings.Repeat("7", 5000) + ",0\n"
	writeFile(t, filepath.Join(root, "long.csv"), []byte("1,2,0\n"+long))
	writeFile(t, filepath.Join(root, "endless.csv"), bytes.Repeat([]byte("1"), 2*maxCSVLine))
	l := newTestLoader(t, root, DataOptions{})
	l.maxLine = 1024
	if _, err := l.Load("csv:long.csv", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "long.csv: line 2: longer than 1024 bytes") {
		t.Errorf("a 5 kB line with a 1 kB limit: err = %v", err)
	}
	l = newTestLoader(t, root, DataOptions{})
	if _, err := l.Load("csv:endless.csv", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), fmt.Sprintf("endless.csv: line 1: longer than %d bytes", maxCSVLine)) {
		t.Errorf("a line of twice the default limit: err = %v", err)
	}
}

func TestCSVErrorsDoNotEchoContents(t *testing.T) {
	root := t.TempDir()
	const secret = "s3cr3t-Vaiue"
	head := "a,b,label\n1,2,0\n"
	for _, tc := range []struct{ body, want string }{
		{head + secret + ",2,0\n", "line 3, column 1: not a finite number"},
		{head + "1," + secret + ",0\n", "line 3, column 2: not a finite number"},
		{head + "1,2," + secret + "\n", "line 3, column 3: the label is not a class number in [0, 1000]"},
		{head + "1,2,7000\n", "line 3, column 3: the label is not a class number in [0, 1000]"},
		{head + "1,2,-1\n", "line 3, column 3: the label is not a class number in [0, 1000]"},
		{head + "1,NaN,0\n", "line 3, column 2: not a finite number"},
		{head + "1,2,0," + secret + "\n", "line 3: 4 columns, want 3"},
		{"# " + secret + "\n\n1,2,0\n1,2\n", "line 4: 2 columns, want 3"},
		{secret + "\n1\n", "line 2: need at least one feature column and a label column"},
		{"root:x:0:0:" + secret + ":/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n", "line 2: need at least one feature column"},
	} {
		writeFile(t, filepath.Join(root, "f.csv"), []byte(tc.body))
		_, err := newTestLoader(t, root, DataOptions{}).Load("csv:f.csv", 1)
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "f.csv: "+tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.body, err, tc.want)
			continue
		}
		for _, leak := range []string{secret, "7000", "NaN", "root:x", "daemon"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%q: error %q repeats %q from the file", tc.body, err, leak)
			}
		}
	}
}

func TestDatasetCacheSharedAcrossSeeds(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "d.csv"), []byte(csvRows(100)))
	writeIDX(t, root, 40, 3, 3, true)
	l := newTestLoader(t, root, DataOptions{})
	for _, name := range []string{"csv:d.csv", "idx:img,lab"} {
		before := l.parses.Load()
		a1, err := l.Load(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		a2, _ := l.Load(name, 2)
		a3, _ := l.Load(name, 3)
		again, _ := l.Load(name, 1)
		if got := l.parses.Load() - before; got != 1 {
			t.Errorf("%s: parsed %d times for three seeds, want 1", name, got)
		}
		if again != a1 {
			t.Errorf("%s: a second Load with seed 1 made a new copy", name)
		}
		if slices.Equal(a1.Train.labels, a2.Train.labels) || slices.Equal(a2.Train.labels, a3.Train.labels) {
			t.Errorf("%s: seeds 1, 2, 3 share one split", name)
		}
	}
	// The same file by another spelling is not parsed again.
	before := l.parses.Load()
	if _, err := l.Load("csv:./d.csv", 4); err != nil {
		t.Fatal(err)
	}
	if l.parses.Load() != before {
		t.Error("csv:./d.csv parsed d.csv again")
	}
	// A failed load is not kept: fixing the file is enough.
	if _, err := l.Load("csv:later.csv", 1); err == nil {
		t.Fatal("a missing file loaded")
	}
	writeFile(t, filepath.Join(root, "later.csv"), []byte(csvRows(20)))
	if _, err := l.Load("csv:later.csv", 1); err != nil {
		t.Errorf("after the file appeared: %v", err)
	}
}

func TestDatasetCacheEviction(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.csv"), []byte(csvRows(200)))
	writeFile(t, filepath.Join(root, "b.csv"), []byte(csvRows(200)))
	// What one file's parse and one split take.
	probe := newTestLoader(t, root, DataOptions{})
	if _, err := probe.Load("csv:a.csv", 1); err != nil {
		t.Fatal(err)
	}
	one := probe.cache.used
	if one == 0 {
		t.Fatal("nothing cached")
	}

	l := newTestLoader(t, root, DataOptions{CacheBytes: one + one/2})
	load := func(name string, seed uint64) {
		t.Helper()
		if _, err := l.Load(name, seed); err != nil {
			t.Fatal(err)
		}
		if l.cache.used > l.cache.budget {
			t.Fatalf("cache holds %d bytes, over its budget of %d", l.cache.used, l.cache.budget)
		}
	}
	load("csv:a.csv", 1)
	load("csv:a.csv", 1)
	if got := l.parses.Load(); got != 1 {
		t.Fatalf("a.csv parsed %d times, want 1", got)
	}
	load("csv:b.csv", 1) // evicts a.csv's parse, the least recently used
	load("csv:a.csv", 2) // a new seed needs a.csv parsed again
	if got := l.parses.Load(); got != 3 {
		t.Errorf("%d parses after a#1, b#1, a#2 with room for one file, want 3 (a evicted)", got)
	}

	roomy := newTestLoader(t, root, DataOptions{CacheBytes: 4 * one})
	for _, n := range []string{"csv:a.csv", "csv:b.csv"} {
		for seed := range uint64(3) {
			if _, err := roomy.Load(n, seed); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := roomy.parses.Load(); got != 2 {
		t.Errorf("%d parses with room for both files, want 2", got)
	}

	// A data set larger than the whole budget is returned, not kept.
	tiny := newTestLoader(t, root, DataOptions{CacheBytes: 1})
	for range 2 {
		if ds, err := tiny.Load("csv:a.csv", 1); err != nil || ds.Train.Len() != 140 {
			t.Fatalf("Load with a 1-byte budget: %v", err)
		}
	}
	if got := tiny.parses.Load(); got != 2 || tiny.cache.used != 0 {
		t.Errorf("1-byte budget: %d parses, %d bytes kept; want 2 and 0", got, tiny.cache.used)
	}
}

func TestDataCacheLRU(t *testing.T) {
	c := newDataCache(3)
	loads := map[string]int{}
	get := func(k string) {
		v, err := cacheGet(c, k, func() (string, int64, error) { loads[k]++; return k + "!", 1, nil })
		if err != nil || v != k+"!" {
			t.Fatalf("get(%s) = %q, %v", k, v, err)
		}
	}
	get("a")
	get("b")
	get("c")
	get("a") // a is now the most recently used; b the least
	get("d") // evicts b
	get("a")
	get("c")
	get("b") // loads b again, evicting d
	want := map[string]int{"a": 1, "b": 2, "c": 1, "d": 1}
	for k, n := range want {
		if loads[k] != n {
			t.Errorf("%s loaded %d times, want %d (loads %v)", k, loads[k], n, loads)
		}
	}
	if c.used != 3 || c.lru.Len() != 3 || len(c.m) != 3 {
		t.Errorf("used %d, %d in the list, %d in the map; want 3 each", c.used, c.lru.Len(), len(c.m))
	}
	// A failed load is not kept.
	boom := errors.New("boom")
	if _, err := cacheGet(c, "e", func() (int, int64, error) { return 0, 1, boom }); err != boom {
		t.Fatalf("err = %v", err)
	}
	if _, ok := c.m["e"]; ok || c.used != 3 {
		t.Error("a failed load was kept")
	}
}

// TestDatasetCacheConcurrent loads from many goroutines at once, as a worker
// running several trials does (run it with -race).
func TestDatasetCacheConcurrent(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.csv"), []byte(csvRows(300)))
	writeIDX(t, root, 60, 4, 4, true)
	l := newTestLoader(t, root, DataOptions{})
	names := []string{"csv:a.csv", "idx:img,lab"}
	const workers = 12
	got := make([][6]*Dataset, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range 6 {
				k := (i + w) % 6
				ds, err := l.Load(names[k%2], uint64(k/2))
				if err != nil {
					t.Error(err)
					return
				}
				got[w][k] = ds
			}
		})
	}
	wg.Wait()
	if n := l.parses.Load(); n != 2 {
		t.Errorf("two files parsed %d times, want 2", n)
	}
	for w := range workers {
		if got[w] != got[0] {
			t.Fatalf("goroutine %d got other copies than goroutine 0", w)
		}
	}

	// With a budget that holds about one entry, goroutines evict each
	// other's data while they load; every load still succeeds.
	small := newTestLoader(t, root, DataOptions{CacheBytes: 8 << 10})
	for w := range workers {
		wg.Go(func() {
			for i := range 30 {
				if _, err := small.Load(names[(i+w)%2], uint64(i%5)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if small.cache.used > small.cache.budget {
		t.Errorf("cache holds %d bytes, over its budget of %d", small.cache.used, small.cache.budget)
	}
}

func TestDataOptions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"1", 1}, {"1073741824", 1 << 30}, {"512MiB", 512 << 20}, {"1GiB", 1 << 30}, {" 2 KiB ", 2048}, {"3B", 3}, {"1TiB", 1 << 40}} {
		if got, err := ParseByteSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1.5GiB", "1GB", "lots", "9999999TiB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}

	root := t.TempDir()
	t.Setenv(EnvDataDir, root)
	t.Setenv(EnvMaxDatasetBytes, "2MiB")
	t.Setenv(EnvDatasetCacheBytes, "3MiB")
	o, err := DataOptionsFromEnv()
	if err != nil || o != (DataOptions{Root: root, MaxFileBytes: 2 << 20, CacheBytes: 3 << 20}) {
		t.Errorf("DataOptionsFromEnv = %+v, %v", o, err)
	}
	t.Setenv(EnvMaxDatasetBytes, "big")
	if _, err := DataOptionsFromEnv(); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), EnvMaxDatasetBytes) || !strings.Contains(err.Error(), `"big"`) {
		t.Errorf("a bad %s: err = %v, want it named with its value", EnvMaxDatasetBytes, err)
	}

	writeFile(t, filepath.Join(root, "file"), []byte("x"))
	for _, o := range []DataOptions{{Root: filepath.Join(root, "missing")}, {Root: filepath.Join(root, "file")}, {Root: root, MaxFileBytes: -1}} {
		if _, err := NewLoader(o); !errors.Is(err, ErrDataset) {
			t.Errorf("NewLoader(%+v) = %v, want ErrDataset", o, err)
		}
	}
	l, err := NewLoader(DataOptions{})
	wd, _ := os.Getwd()
	if err != nil || l.Root() != wd || l.maxBytes != DefaultMaxDatasetBytes || l.cache.budget != DefaultDatasetCacheBytes {
		t.Errorf("NewLoader(zero options): root %q (want %q), caps %d, %d; err %v", l.Root(), wd, l.maxBytes, l.cache.budget, err)
	}
}

// TestDefaultLoader: LoadDataset uses the Loader set by SetDefaultLoader,
// else one built from the environment.
func TestDefaultLoader(t *testing.T) {
	saved := defaultLoaderPtr.Load()
	t.Cleanup(func() { defaultLoaderPtr.Store(saved) })

	root := t.TempDir()
	writeFile(t, filepath.Join(root, "d.csv"), []byte(csvRows(20)))
	defaultLoaderPtr.Store(nil)
	t.Setenv(EnvDataDir, root)
	if _, err := LoadDataset("csv:d.csv", 1); err != nil {
		t.Errorf("with %s set: %v", EnvDataDir, err)
	}

	other := t.TempDir()
	SetDefaultLoader(newTestLoader(t, other, DataOptions{}))
	if _, err := LoadDataset("csv:d.csv", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("after SetDefaultLoader(another root): err = %v, want no such file", err)
	}

	defaultLoaderPtr.Store(nil)
	t.Setenv(EnvDatasetCacheBytes, "-5")
	if _, err := LoadDataset("csv:d.csv", 1); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), EnvDatasetCacheBytes) {
		t.Errorf("bad %s: err = %v", EnvDatasetCacheBytes, err)
	}
}

// TestFashionMNISTDir reads the MNIST layout from a relative
// RELUTUNE_FASHION_MNIST_DIR, taken under the data root.
func TestFashionMNISTDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fm")
	for _, f := range []struct {
		prefix string
		n      int
	}{{"train", 60}, {"t10k", 10}} {
		img, lab := writeIDX(t, t.TempDir(), f.n, 2, 2, true)
		for _, p := range [][2]string{{img, f.prefix + "-images-idx3-ubyte.gz"}, {lab, f.prefix + "-labels-idx1-ubyte.gz"}} {
			b, err := os.ReadFile(p[0])
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, p[1]), b)
		}
	}
	t.Setenv("RELUTUNE_FASHION_MNIST_DIR", "fm")
	ds, err := newTestLoader(t, root, DataOptions{}).Load("fashion-mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Features != 4 || ds.Train.Len() != 50 || ds.Val.Len() != 10 || ds.Test.Len() != 10 || ds.Classes != 4 {
		t.Errorf("fashion-mnist: %d features, splits %d/%d/%d, %d classes", ds.Features, ds.Train.Len(), ds.Val.Len(), ds.Test.Len(), ds.Classes)
	}
}
