package trainer

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// DefaultMaxMemory is the limit Train applies to a configuration's estimated
// memory when Options.MaxMemory is 0: far above what a sensible trial needs,
// far below what would take a worker down.
const DefaultMaxMemory int64 = 16 << 30

// Shape is what the memory estimate needs to know of a data set.
type Shape struct {
	// Features is the length of one input vector; Classes the number of labels.
	Features, Classes int
	// Height, Width and Channels describe image inputs; all zero otherwise.
	Height, Width, Channels int
	// Train, Val and Test are the examples in each split.
	Train, Val, Test int
	// ByteImages is true when examples are stored as one byte per feature
	// (image files), false for float32 features (generated and CSV data).
	ByteImages bool
}

// Shape returns the shape of ds.
func (ds *Dataset) Shape() Shape {
	return Shape{
		Features: ds.Features, Classes: ds.Classes,
		Height: ds.Height, Width: ds.Width, Channels: ds.Channels,
		Train: ds.Train.Len(), Val: ds.Val.Len(), Test: ds.Test.Len(),
		ByteImages: ds.Train.bytes != nil,
	}
}

// Bytes is the memory the loaded data set holds: the examples and their labels.
func (s Shape) Bytes() int64 {
	n := int64(s.Train) + int64(s.Val) + int64(s.Test)
	per := int64(4)
	if s.ByteImages {
		per = 1
	}
	b := n*int64(s.Features)*per + 4*n
	if s.ByteImages {
		b += 4 * 256 // the normalisation table
	}
	return b
}

func (s Shape) validate() error {
	switch {
	case s.Features < 1 || s.Classes < 2:
		return fmt.Errorf("%w: data shape: %d features and %d classes: need at least 1 feature and 2 classes", ErrInvalidConfig, s.Features, s.Classes)
	case s.Train < 0 || s.Val < 0 || s.Test < 0:
		return fmt.Errorf("%w: data shape: negative split size", ErrInvalidConfig)
	case s.Height != 0 && s.Height*s.Width*s.Channels != s.Features:
		return fmt.Errorf("%w: data shape: %dx%dx%d images but %d features", ErrInvalidConfig, s.Height, s.Width, s.Channels, s.Features)
	}
	return nil
}

// mnistShape is the shape of MNIST and Fashion-MNIST as LoadDataset splits them.
var mnistShape = Shape{Features: 28 * 28, Classes: 10, Height: 28, Width: 28, Channels: 1,
	Train: 50000, Val: 10000, Test: 10000, ByteImages: true}

// DatasetShape returns the shape of the named data set without loading it:
// built-in sets from what LoadDataset makes of them, "idx:" and "csv:" sets
// from their files on this machine, read as a stream (image headers, label
// values, CSV rows) with constant memory. Only regular files are read.
func DatasetShape(name string) (Shape, error) {
	if err := ValidateDatasetName(name); err != nil {
		return Shape{}, err
	}
	switch {
	case name == "spirals":
		return Shape{Features: 2, Classes: 3, Train: genTrain, Val: genVal, Test: genTest}, nil
	case name == "moons" || name == "circles":
		return Shape{Features: 2, Classes: 2, Train: genTrain, Val: genVal, Test: genTest}, nil
	case name == "mnist" || name == "fashion-mnist":
		return mnistShape, nil
	case strings.HasPrefix(name, "idx:"):
		return idxShape(name)
	default:
		return csvShape(name)
	}
}

// maxShapeFile is the largest file DatasetShape reads.
const maxShapeFile = 4 << 30

// openRegular opens path for a streaming read, refusing devices, pipes and
// directories, which could be endless, and files over maxShapeFile bytes.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrDataset, path)
	}
	if fi.Size() > maxShapeFile {
		return nil, fmt.Errorf("%w: %s: %s, too large to measure here (at most %s)", ErrDataset, path, FormatBytes(fi.Size()), FormatBytes(maxShapeFile))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	return f, nil
}

// openMaybeGzip returns a reader of path's contents, gunzipped if it starts
// with the gzip magic.
func openMaybeGzip(path string) (io.Reader, func() error, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrDataset, path, err)
		}
		return zr, f.Close, nil
	}
	return br, f.Close, nil
}

// idxShape reads the image header and the labels of an IDX pair.
func idxShape(name string) (Shape, error) {
	parts := strings.Split(strings.TrimPrefix(name, "idx:"), ",")
	r, closeImg, err := openMaybeGzip(parts[0])
	if err != nil {
		return Shape{}, err
	}
	defer closeImg()
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || binary.BigEndian.Uint32(hdr[:]) != 0x00000803 {
		return Shape{}, fmt.Errorf("%w: %s: not an IDX image file (want magic 0x00000803: unsigned bytes, 3 dimensions)", ErrDataset, parts[0])
	}
	n := int(binary.BigEndian.Uint32(hdr[4:]))
	h := int(binary.BigEndian.Uint32(hdr[8:]))
	w := int(binary.BigEndian.Uint32(hdr[12:]))
	if h < 1 || w < 1 || h > 4096 || w > 4096 {
		return Shape{}, fmt.Errorf("%w: %s: images of %dx%d (allowed: 1 to 4096 pixels a side)", ErrDataset, parts[0], h, w)
	}
	lr, closeLab, err := openMaybeGzip(parts[1])
	if err != nil {
		return Shape{}, err
	}
	defer closeLab()
	var lhdr [8]byte
	if _, err := io.ReadFull(lr, lhdr[:]); err != nil || binary.BigEndian.Uint32(lhdr[:]) != 0x00000801 {
		return Shape{}, fmt.Errorf("%w: %s: not an IDX label file (want magic 0x00000801: unsigned bytes, 1 dimension)", ErrDataset, parts[1])
	}
	hi := -1
	buf := make([]byte, 1<<16)
	for {
		k, err := lr.Read(buf)
		for _, b := range buf[:k] {
			hi = max(hi, int(b))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return Shape{}, fmt.Errorf("%w: %s: %w", ErrDataset, parts[1], err)
		}
	}
	nTrain, nVal := n*8/10, n/10
	return Shape{Features: h * w, Classes: max(hi+1, 2), Height: h, Width: w, Channels: 1,
		Train: nTrain, Val: nVal, Test: n - nTrain - nVal, ByteImages: true}, nil
}

// csvShape counts the rows, columns and classes of a CSV file as loadCSV
// reads it.
func csvShape(name string) (Shape, error) {
	path := strings.TrimPrefix(name, "csv:")
	f, err := openRegular(path)
	if err != nil {
		return Shape{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	cols, n, hi := -1, 0, -1
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k := strings.Count(text, ",") + 1
		if cols == -1 {
			first, _, _ := strings.Cut(text, ",")
			cols = k
			if _, err := strconv.ParseFloat(strings.TrimSpace(first), 64); err != nil {
				continue // header row
			}
		}
		n++
		last := text[strings.LastIndexByte(text, ',')+1:]
		if l, err := strconv.Atoi(strings.TrimSpace(last)); err == nil {
			hi = max(hi, l)
		}
	}
	if err := sc.Err(); err != nil {
		return Shape{}, fmt.Errorf("%w: %s: %w", ErrDataset, path, err)
	}
	if cols < 2 {
		return Shape{}, fmt.Errorf("%w: %s: need at least one feature column and a label column", ErrDataset, path)
	}
	nTrain, nVal := n*70/100, n*15/100
	return Shape{Features: cols - 1, Classes: max(hi+1, 2), Train: nTrain, Val: nVal, Test: n - nTrain - nVal}, nil
}

// Memory is the estimated peak memory of one Train call, in bytes, by part.
// Train allocates every buffer below when it starts and keeps it to the end,
// so the peak is their sum; a training step allocates nothing.
type Memory struct {
	// Rows is the number of examples the activation buffers hold: the batch
	// size, or more for the evaluation chunks when they are small.
	Rows int
	// NumParams counts the model's parameters (weights, biases, PReLU slopes).
	NumParams int64
	// Params and Grads are the parameter vector and its gradient, one
	// gradient per batch shard.
	Params, Grads int64
	// Optimizer is the optimizer's state: two moments per parameter for adam
	// and adamw, one for momentum, none for sgd.
	Optimizer int64
	// Activations are the input batch, the labels, every layer's output and
	// the gradients with respect to them, for Rows examples, and for each
	// further batch shard of a multi-threaded step (Threads), its share of
	// the batch.
	Activations int64
	// Im2col is the convolutions' im2col scratch: one chunk of samples
	// (convScratchLen), per batch shard.
	Im2col int64
	// Workspace is the rest: the byte-image first-layer buffers, the
	// batch-normalisation statistics, the diagnostics' gradient
	// accumulator, the data order and the matrix product's packing buffers.
	Workspace int64
	// Dataset is the loaded data set, shared by the trials of a worker.
	Dataset int64
}

// Trial is what one Train call allocates: everything but the data set.
func (m Memory) Trial() int64 {
	return m.Params + m.Grads + m.Optimizer + m.Activations + m.Im2col + m.Workspace
}

// Total is Trial plus the data set.
func (m Memory) Total() int64 { return m.Trial() + m.Dataset }

// String lists the parts that are not zero.
func (m Memory) String() string {
	parts := []struct {
		name string
		b    int64
	}{
		{"parameters", m.Params}, {"gradients", m.Grads}, {"optimizer state", m.Optimizer},
		{"activations", m.Activations}, {"im2col", m.Im2col}, {"workspace", m.Workspace}, {"dataset", m.Dataset},
	}
	var s []string
	for _, p := range parts {
		if p.b > 0 {
			s = append(s, p.name+" "+FormatBytes(p.b))
		}
	}
	return strings.Join(s, ", ")
}

// layout is the per-example shape of a network as newNetwork builds it.
type layout struct {
	nparams  int64
	dims     []int64 // per-sample output size of each op
	inplace  []bool
	convs    [][3]int // h, w and input channels of each convolution
	fused    [][4]int // h, w, input and output channels of each fused block (convPool)
	units    int64    // hidden units (channels for convolutions), for the diagnostics
	hidden   int      // hidden layers
	firstOut int64    // outputs of the first op, when it is a dense layer; 0 otherwise
	maxK     int64    // largest inner dimension of a matrix product
	bnUnits  int64    // units of all batch-normalisation ops
	bnWidest int64    // units of the widest
}

// layoutOf mirrors newNetwork: the same ops, in the same order, with the
// same parameter counts and buffer sizes.
func layoutOf(c Config, s Shape) (layout, error) {
	var l layout
	addBN := func(dim, units int64) {
		l.nparams += 2 * units
		l.bnUnits += units
		l.bnWidest = max(l.bnWidest, units)
		l.dims = append(l.dims, dim)
		l.inplace = append(l.inplace, true)
	}
	addAct := func(dim, units int64) {
		if c.BatchNorm == BatchNormBefore {
			addBN(dim, units)
		}
		if c.Activation == PReLU || c.Activation == Swish && c.LearnSwishBeta {
			l.nparams++
		}
		l.dims = append(l.dims, dim)
		l.inplace = append(l.inplace, true)
		l.units += units
		l.hidden++
		if c.BatchNorm == BatchNormAfter {
			addBN(dim, units)
		}
		if c.Dropout > 0 {
			l.dims = append(l.dims, dim)
			l.inplace = append(l.inplace, true)
		}
	}
	dim := int64(s.Features)
	if c.Model == CNN {
		if s.Height == 0 {
			return l, fmt.Errorf("%w: model: \"cnn\": the data set is not an image data set; use model mlp", ErrInvalidConfig)
		}
		h, w, ch := int64(s.Height), int64(s.Width), int64(s.Channels)
		for i, cout := range c.Conv {
			if h < 2 || w < 2 {
				return l, fmt.Errorf("%w: conv: %v: block %d would pool a %dx%d image; use fewer blocks", ErrInvalidConfig, c.Conv, i, h, w)
			}
			co := int64(cout)
			l.nparams += 9*ch*co + co
			l.convs = append(l.convs, [3]int{int(h), int(w), int(ch)})
			l.maxK = max(l.maxK, 9*ch)
			if fusesConvBlocks(c) { // one convPool op: fuseConvBlocks
				addAct((h/2)*(w/2)*co, co)
				l.inplace[len(l.inplace)-1] = false
				l.fused = append(l.fused, [4]int{int(h), int(w), int(ch), cout})
			} else {
				l.dims = append(l.dims, h*w*co)
				l.inplace = append(l.inplace, false)
				addAct(h*w*co, co)
				l.dims = append(l.dims, (h/2)*(w/2)*co)
				l.inplace = append(l.inplace, false)
			}
			h, w, ch = h/2, w/2, co
		}
		dim = h * w * ch
	}
	for i, width := range c.Hidden {
		wd := int64(width)
		if i == 0 && c.Model != CNN {
			l.firstOut = wd
		}
		l.nparams += dim*wd + wd
		l.maxK = max(l.maxK, dim, wd)
		l.dims = append(l.dims, wd)
		l.inplace = append(l.inplace, false)
		addAct(wd, wd)
		dim = wd
	}
	classes := int64(s.Classes)
	if len(c.Hidden) == 0 && c.Model != CNN {
		l.firstOut = classes
	}
	l.nparams += dim*classes + classes
	l.maxK = max(l.maxK, dim)
	l.dims = append(l.dims, classes)
	l.inplace = append(l.inplace, false)
	return l, nil
}

// Matrix-product packing (kernels' blocking: a 256 x 1024 panel of B, a
// transposed 32-row strip of A, edge tiles), per thread.
func gemmWorkspace(threads int, maxK int64) int64 {
	return int64(threads) * 4 * (256*1024 + 32*maxK + 2*32*32 + 32*14)
}

// EstimateMemory returns the peak memory Train needs for cfg (completed with
// WithDefaults) on a data set of shape s. It follows the buffers the trainer
// allocates: the parameters and their gradient, the optimizer's moments, the
// activations and their gradients for the workspace rows, the convolutions'
// im2col buffers, the byte-image first layer, the diagnostics and the
// matrix-product packing, plus the data set itself. An invalid cfg or shape
// returns an error wrapping ErrInvalidConfig.
func EstimateMemory(cfg Config, s Shape) (Memory, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Memory{}, err
	}
	if err := s.validate(); err != nil {
		return Memory{}, err
	}
	l, err := layoutOf(cfg, s)
	if err != nil {
		return Memory{}, err
	}
	rows := workspaceRows(cfg, s)
	r := int64(rows)
	m := Memory{Rows: rows, NumParams: l.nparams, Dataset: s.Bytes()}
	const f32 = 4
	m.Params = f32 * l.nparams
	m.Grads = f32 * l.nparams
	switch cfg.Optimizer {
	case Momentum:
		m.Optimizer = f32 * l.nparams
	case Adam, AdamW:
		m.Optimizer = 2 * f32 * l.nparams
	}
	in := int64(s.Features)
	// allocWorkspace: the input, the labels, each op's output, and the
	// gradients, an in-place op sharing its input's; the im2col scratch.
	buffers := func(r int64) (acts, cols int64) {
		acts = f32*r*in + 4*r
		shared := make([]bool, len(l.dims))
		for i := len(l.dims) - 1; i >= 0; i-- {
			acts += f32 * r * l.dims[i] // outs[i]
			if !shared[i] {
				acts += f32 * r * l.dims[i] // douts[i]
			}
			if l.inplace[i] && i > 0 {
				shared[i-1] = true
			}
		}
		var scratch, convOut int
		for _, c := range l.convs {
			scratch = max(scratch, convScratchLen(c[0], c[1], c[2], int(r)))
		}
		// allocConvWorkspace: a chunk's convolution output, the pooling maxima.
		for _, c := range l.fused {
			convOut = max(convOut, convChunk(c[0], c[1], c[2], int(r))*c[0]*c[1]*c[3])
			acts += r * int64((c[0]/2)*(c[1]/2)*c[3])
		}
		return acts, f32 * int64(scratch+convOut)
	}
	// newByteInput: the first dense layer over byte images.
	byteInput := func(r int64) int64 {
		if s.ByteImages && l.firstOut > 0 && in >= byteInputMinFeatures && in%8 == 0 {
			return 8*(in/8) + 8*(in/2+1) + f32*r*in + 2*f32*in*l.firstOut + 3*f32*l.firstOut
		}
		return 0
	}
	m.Activations, m.Im2col = buffers(r)
	m.Workspace += byteInput(r)
	// Batch normalisation: the running mean and variance, and each
	// network's batch statistics (mean, variance, inverse deviation) and
	// per-unit scratch.
	bnNet := 3*f32*l.bnUnits + 3*f32*l.bnWidest
	m.Workspace += 2*f32*l.bnUnits + bnNet
	// network.shard: the further shards of a multi-threaded step.
	if t := int64(shardsFor(cfg)); t > 1 {
		sr := int64(shardRows(cfg))
		acts, cols := buffers(sr)
		m.Grads += (t - 1) * f32 * l.nparams
		m.Activations += (t - 1) * acts
		m.Im2col += (t - 1) * cols
		m.Workspace += (t - 1) * (byteInput(sr) + bnNet)
	}
	// newProber: the gradient accumulator, the zero counts and the sums.
	m.Workspace += f32*l.nparams + 4*l.units + 8*3*int64(l.hidden)
	// run: the permutation of the training split.
	m.Workspace += 4 * int64(s.Train)
	m.Workspace += gemmWorkspace(max(cfg.Threads, 1), l.maxK)
	return m, nil
}

// CheckMemory returns an error wrapping ErrInvalidConfig when the memory
// one Train call of cfg on data of shape s would allocate exceeds limit
// bytes. A limit <= 0 accepts everything.
func CheckMemory(cfg Config, s Shape, limit int64) error {
	if limit <= 0 {
		return nil
	}
	m, err := EstimateMemory(cfg, s)
	if err != nil {
		return err
	}
	if m.Trial() > limit {
		return fmt.Errorf("%w: estimated memory %s (%s) exceeds the limit %s: lower batch_size, hidden, conv or use sgd",
			ErrInvalidConfig, FormatBytes(m.Trial()), m.String(), FormatBytes(limit))
	}
	return nil
}

// FormatBytes renders b in binary units with at most one decimal: "512 MiB",
// "26.4 GiB".
func FormatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatInt(b, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(b) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}

// ParseBytes parses a memory size: a number followed by B, KiB, MiB, GiB,
// TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000), case-insensitive,
// with optional space ("512MiB", "4 GiB", "1.5GiB"); a bare number is bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, suffix := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	}[suffix]
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || mult == 0 {
		return 0, fmt.Errorf("%q is not a memory size (allowed: a number with B, KiB, MiB, GiB, TiB, KB, MB, GB or TB, such as 512MiB or 4GiB)", s)
	}
	b := v * mult
	if b < 1 || b >= math.MaxInt64 || math.IsNaN(b) {
		return 0, fmt.Errorf("%q is out of range (allowed: 1 byte to 8 EiB)", s)
	}
	return int64(b), nil
}
