package trainer

import (
	"encoding/binary"

	"github.com/relutune/relutune/kernels"
)

// byteInput is the training fast path of a dense first layer over byte
// images. In a batch of MNIST images about a third of the pixel positions
// are 0 in every image (526 of 784 are not, on average, for 128 images), so
// those input columns all hold the same value c (the normalised 0 byte). With
// A the active columns and I the inactive ones:
//
//	X*W  = X[:,A]*W[A,:] + c*1*(sum of W[I,:])
//	dW[A,:] = X[:,A]^T * dZ      dW[I,:] = c*colsums(dZ)
//
// which is the same product as the dense one (only the rounding order
// differs) with a third fewer multiply-adds in the two largest matrix
// products of the step. The active rows of W are copied into a packed matrix
// for the product, and their gradient copied back.
type byteInput struct {
	layer  *dense
	words  []uint64   // OR of the batch's pixel bytes, 8 per word
	runs   [][2]int32 // maximal runs [start, end) of active input columns
	ka     int        // active columns in all
	xa     []float32  // rows x ka: the batch's active columns, decoded
	wa     []float32  // ka x out: W's active rows
	dwa    []float32  // ka x out: their gradient
	bias   []float32  // out: b + c*(sum of W's inactive rows)
	colsum []float32  // out: scratch
	cdb    []float32  // out: c*colsums(dZ)
}

// byteInputMinFeatures: below this input width the dense path is as good.
const byteInputMinFeatures = 64

// newByteInput returns the fast path for n, or nil when n's first op is not
// a dense layer over a wide input.
func newByteInput(n *network, capRows int) *byteInput {
	d, ok := n.ops[0].(*dense)
	if !ok || n.inDim < byteInputMinFeatures || n.inDim%8 != 0 {
		return nil
	}
	return &byteInput{
		layer:  d,
		words:  make([]uint64, n.inDim/8),
		runs:   make([][2]int32, 0, n.inDim/2+1),
		xa:     make([]float32, capRows*n.inDim),
		wa:     make([]float32, n.inDim*d.out),
		dwa:    make([]float32, n.inDim*d.out),
		bias:   make([]float32, d.out),
		colsum: make([]float32, d.out),
		cdb:    make([]float32, d.out),
	}
}

// gaps calls fn for each maximal run [lo, hi) of inactive columns.
func (bi *byteInput) gaps(f int, fn func(lo, hi int)) {
	prev := 0
	for _, r := range bi.runs {
		if int(r[0]) > prev {
			fn(prev, int(r[0]))
		}
		prev = int(r[1])
	}
	if prev < f {
		fn(prev, f)
	}
}

// forward gathers the batch idx of split (a byte split) and runs the whole
// network on it, the first layer over the active columns only.
func (bi *byteInput) forward(n *network, split *Split, idx []int32) {
	f := n.inDim
	d := bi.layer
	out := d.out
	rows := len(idx)
	clear(bi.words)
	for r, i := range idx {
		src := split.bytes[int(i)*f : int(i)*f+f]
		for w := range bi.words {
			bi.words[w] |= binary.LittleEndian.Uint64(src[8*w:])
		}
		n.labels[r] = split.labels[i]
	}
	bi.runs = bi.runs[:0]
	bi.ka = 0
	start := -1
	for j := range f {
		on := byte(bi.words[j/8]>>(8*(j%8))) != 0
		switch {
		case on && start < 0:
			start = j
		case !on && start >= 0:
			bi.runs = append(bi.runs, [2]int32{int32(start), int32(j)})
			bi.ka += j - start
			start = -1
		}
	}
	if start >= 0 {
		bi.runs = append(bi.runs, [2]int32{int32(start), int32(f)})
		bi.ka += f - start
	}
	ka := bi.ka
	lut := split.lut
	for r, i := range idx {
		src := split.bytes[int(i)*f : int(i)*f+f]
		row := bi.xa[r*ka : (r+1)*ka]
		t := 0
		for _, run := range bi.runs {
			k := int(run[1] - run[0])
			decode(row[t:t+k], src[run[0]:run[1]], lut)
			t += k
		}
	}
	w := n.params[d.wOff : d.wOff+f*out]
	t := 0
	for _, run := range bi.runs {
		k := int(run[1] - run[0])
		copy(bi.wa[t*out:(t+k)*out], w[int(run[0])*out:int(run[1])*out])
		t += k
	}
	// bias = b + c*(sum of the inactive rows of W)
	clear(bi.bias)
	bi.gaps(f, func(lo, hi int) {
		kernels.ColSums(bi.colsum, w[lo*out:hi*out], hi-lo, out, out)
		kernels.Axpy(1, bi.colsum, bi.bias)
	})
	kernels.Scale(lut[0], bi.bias)
	kernels.Axpy(1, n.params[d.bOff:d.bOff+out], bi.bias)

	z := n.outs[0]
	if ka > 0 {
		kernels.SgemmParallel(n.threads, false, false, rows, out, ka, 1, bi.xa, ka, bi.wa, out, 0, z, out)
	} else {
		clear(z[:rows*out])
	}
	kernels.AddBias(z, rows, out, out, bi.bias)
	in := n.outs[0]
	for i := 1; i < len(n.ops); i++ {
		n.ops[i].forward(n, in, n.outs[i], rows)
		in = n.outs[i]
	}
}

// backward is network.backward for a batch that went through forward.
func (bi *byteInput) backward(n *network, split *Split, rows int) {
	for i := len(n.ops) - 1; i >= 1; i-- {
		n.ops[i].backward(n, n.outs[i-1], n.outs[i], n.douts[i], n.douts[i-1], rows)
	}
	d := bi.layer
	out := d.out
	dz := n.douts[0]
	ka := bi.ka
	db := n.grads[d.bOff : d.bOff+out]
	kernels.ColSums(db, dz, rows, out, out)
	dw := n.grads[d.wOff : d.wOff+n.inDim*out]
	if ka > 0 {
		kernels.SgemmParallel(n.threads, true, false, ka, out, rows, 1, bi.xa, ka, dz, out, 0, bi.dwa, out)
		t := 0
		for _, run := range bi.runs {
			k := int(run[1] - run[0])
			copy(dw[int(run[0])*out:int(run[1])*out], bi.dwa[t*out:(t+k)*out])
			t += k
		}
	}
	copy(bi.cdb, db)
	kernels.Scale(split.lut[0], bi.cdb)
	bi.gaps(n.inDim, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			copy(dw[j*out:(j+1)*out], bi.cdb)
		}
	})
}
