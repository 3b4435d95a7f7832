package trainer

import (
	"github.com/relutune/relutune/kernels"
)

// conv3x3 is a 3x3 convolution, stride 1, zero padding 1, computed as
// matrix products over an im2col buffer: cols (pixels x 9*cin) times W
// (9*cin x cout). Inputs and outputs are h x w x channels per sample.
//
// The batch goes through in chunks of whole samples whose im2col rows fit in
// convChunkFloats (the network's cols scratch, shared by its convolutions),
// so the buffer written by im2col is still in the core's cache when the
// product reads it, and the scratch does not grow with the batch. The
// backward pass rebuilds each chunk's im2col rather than keeping the
// forward's: that costs one more pass over a cache-resident chunk and saves
// a buffer of rows*h*w*9*cin floats per convolution.
type conv3x3 struct {
	h, w, cin, cout int
	wOff, bOff      int
}

// convChunkFloats bounds one chunk's im2col rows (256 KiB of float32: a
// quarter of this machine's L2), unless one sample needs more.
const convChunkFloats = 1 << 16

// convChunk is the number of samples per chunk for an h x w x cin input,
// at most rows.
func convChunk(h, w, cin, rows int) int {
	return max(1, min(rows, convChunkFloats/(h*w*9*cin)))
}

// convScratchLen is the length of the cols scratch a convolution over h x w
// x cin inputs needs for batches of up to rows samples.
func convScratchLen(h, w, cin, rows int) int {
	return convChunk(h, w, cin, rows) * h * w * 9 * cin
}

func (c *conv3x3) forward(n *network, in, out []float32, rows int) {
	per := c.h * c.w
	chunk := convChunk(c.h, c.w, c.cin, n.capRows)
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		c.forwardChunk(n, in, out[s0*per*c.cout:(s0+s)*per*c.cout], s0, s)
	}
	kernels.AddBias(out, rows*per, c.cout, c.cout, n.params[c.bOff:c.bOff+c.cout])
}

// forwardChunk writes into o the convolution, without the bias, of the s
// samples of in from sample s0 on.
func (c *conv3x3) forwardChunk(n *network, in, o []float32, s0, s int) {
	per, k := c.h*c.w, 9*c.cin
	w := n.params[c.wOff : c.wOff+k*c.cout]
	pix := s * per
	cols := n.cols[:pix*k]
	if c.cin == 1 {
		// One channel: the transposed im2col, nine shifted copies of
		// the image (9 x pix), read by columns.
		im2colT1(cols, in[s0*per:], s, c.h, c.w)
		kernels.SgemmParallel(n.threads, true, false, pix, c.cout, k, 1, cols, pix, w, c.cout, 0, o, c.cout)
		return
	}
	kernels.Im2col3x3(cols, in[s0*per*c.cin:(s0+s)*per*c.cin], s, c.h, c.w, c.cin)
	kernels.SgemmParallel(n.threads, false, false, pix, c.cout, k, 1, cols, k, w, c.cout, 0, o, c.cout)
}

func (c *conv3x3) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	per := c.h * c.w
	kernels.ColSums(n.grads[c.bOff:c.bOff+c.cout], dOut, rows*per, c.cout, c.cout)
	chunk := convChunk(c.h, c.w, c.cin, n.capRows)
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		c.backwardChunk(n, in, dOut[s0*per*c.cout:(s0+s)*per*c.cout], dIn, s0, s)
	}
}

// backwardChunk adds to the weight gradient (overwrites it for the first
// chunk, s0 == 0) the part of the s samples from s0 on, whose output
// gradient is g, and writes their input gradient into dIn unless it is nil.
func (c *conv3x3) backwardChunk(n *network, in, g, dIn []float32, s0, s int) {
	per, k := c.h*c.w, 9*c.cin
	w := n.params[c.wOff : c.wOff+k*c.cout]
	dw := n.grads[c.wOff : c.wOff+k*c.cout]
	var beta float32 = 1
	if s0 == 0 {
		beta = 0
	}
	pix := s * per
	cols := n.cols[:pix*k]
	if c.cin == 1 {
		im2colT1(cols, in[s0*per:], s, c.h, c.w)
		kernels.SgemmParallel(n.threads, false, false, k, c.cout, pix, 1, cols, pix, g, c.cout, beta, dw, c.cout)
		if dIn != nil {
			kernels.SgemmParallel(n.threads, false, true, k, pix, c.cout, 1, w, c.cout, g, c.cout, 0, cols, pix)
			col2imT1(dIn[s0*per:(s0+s)*per], cols, s, c.h, c.w)
		}
		return
	}
	kernels.Im2col3x3(cols, in[s0*per*c.cin:(s0+s)*per*c.cin], s, c.h, c.w, c.cin)
	kernels.SgemmParallel(n.threads, true, false, k, c.cout, pix, 1, cols, k, g, c.cout, beta, dw, c.cout)
	if dIn == nil {
		return
	}
	// The chunk's im2col is no longer needed: it receives d(cols).
	kernels.SgemmParallel(n.threads, false, true, pix, k, c.cout, 1, g, c.cout, w, c.cout, 0, cols, k)
	kernels.Col2im3x3(dIn[s0*per*c.cin:(s0+s)*per*c.cin], cols, s, c.h, c.w, c.cin)
}

// im2colT1 writes the transpose of im2col for one channel: row t = 3*ky+kx
// of colsT (rows*h*w wide) is the input shifted by (ky-1, kx-1), zeros
// outside the image, so each image row is one copy.
func im2colT1(colsT, in []float32, rows, h, w int) {
	ld := rows * h * w
	for t := range 9 {
		ky, kx := t/3, t%3
		dst := colsT[t*ld : (t+1)*ld]
		for s := range rows {
			for y := range h {
				d := dst[(s*h+y)*w : (s*h+y+1)*w]
				iy := y + ky - 1
				if iy < 0 || iy >= h {
					clear(d)
					continue
				}
				src := in[(s*h+iy)*w : (s*h+iy+1)*w]
				switch kx {
				case 0:
					d[0] = 0
					copy(d[1:], src[:w-1])
				case 1:
					copy(d, src)
				default:
					copy(d[:w-1], src[1:])
					d[w-1] = 0
				}
			}
		}
	}
}

// col2imT1 is the adjoint of im2colT1: it overwrites din with the sum of
// the rows of colsT shifted back.
func col2imT1(din, colsT []float32, rows, h, w int) {
	clear(din)
	ld := rows * h * w
	for t := range 9 {
		ky, kx := t/3, t%3
		src := colsT[t*ld : (t+1)*ld]
		for s := range rows {
			for y := range h {
				iy := y + ky - 1
				if iy < 0 || iy >= h {
					continue
				}
				c := src[(s*h+y)*w : (s*h+y+1)*w]
				d := din[(s*h+iy)*w : (s*h+iy+1)*w]
				switch kx {
				case 0:
					kernels.Axpy(1, c[1:], d[:w-1])
				case 1:
					kernels.Axpy(1, c, d)
				default:
					kernels.Axpy(1, c[:w-1], d[1:])
				}
			}
		}
	}
}

// maxPool2 is 2x2 max pooling with stride 2 (an odd last row or column is
// dropped), kernels.MaxPool2. The gradient flows to the first element of each
// window that equals its maximum; a NaN in a window makes the output NaN (and
// the loss then reports divergence).
type maxPool2 struct {
	h, w, c int
}

func (p *maxPool2) forward(n *network, in, out []float32, rows int) {
	ins, outs := p.h*p.w*p.c, (p.h/2)*(p.w/2)*p.c
	kernels.MaxPool2(out[:rows*outs], in[:rows*ins], rows, p.h, p.w, p.c)
}

func (p *maxPool2) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	if dIn == nil {
		return
	}
	ins, outs := p.h*p.w*p.c, (p.h/2)*(p.w/2)*p.c
	kernels.MaxPool2Backward(dIn[:rows*ins], dOut[:rows*outs], in[:rows*ins], rows, p.h, p.w, p.c)
}

// convPool is a convolution block fused into one op: the 3x3 convolution,
// its bias, ReLU and 2x2 max pooling, the network's conv3x3, activation and
// maxPool2 ops when nothing sits between them (see fuseConvBlocks). Chunk by
// chunk of samples, the convolution's output goes to a cache-sized scratch
// and is pooled from there at once, recording each window's maximum; the
// bias and ReLU then apply to the pooled quarter (max(x)+b = max(x+b) and
// ReLU commutes with max). Backward scatters the pooled gradient to the
// recorded maxima of each chunk and runs the convolution's products on it.
// Neither the convolution's nor the activation's full-size output exists:
// the op's output, which diagnostics read, is the pooled activation.
type convPool struct {
	conv3x3
}

func (p *convPool) forward(n *network, in, out []float32, rows int) {
	per, oh, ow := p.h*p.w, p.h/2, p.w/2
	outs := oh * ow * p.cout
	args := n.poolArgs[n.opIndex(p)]
	bias := n.params[p.bOff : p.bOff+p.cout]
	chunk := convChunk(p.h, p.w, p.cin, n.capRows)
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		buf := n.convOut[:s*per*p.cout]
		p.forwardChunk(n, in, buf, s0, s)
		o := out[s0*outs : (s0+s)*outs]
		kernels.MaxPool2Arg(o, args[s0*outs:(s0+s)*outs], buf, s, p.h, p.w, p.cout)
		kernels.AddBias(o, s*oh*ow, p.cout, p.cout, bias)
		kernels.ReLU(o, o)
	}
}

func (p *convPool) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	per, oh, ow := p.h*p.w, p.h/2, p.w/2
	outs := oh * ow * p.cout
	args := n.poolArgs[n.opIndex(p)]
	g := dOut[:rows*outs]
	// ReLU's gradient: out > 0 exactly where its input was.
	kernels.ReLUBackward(g, g, out[:rows*outs], out[:rows*outs])
	// The bias gradient sums the scattered gradient, that is the pooled one.
	kernels.ColSums(n.grads[p.bOff:p.bOff+p.cout], g, rows*oh*ow, p.cout, p.cout)
	chunk := convChunk(p.h, p.w, p.cin, n.capRows)
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		buf := n.convOut[:s*per*p.cout]
		kernels.MaxPool2BackwardArg(buf, g[s0*outs:(s0+s)*outs], args[s0*outs:(s0+s)*outs], s, p.h, p.w, p.cout)
		p.backwardChunk(n, in, buf, dIn, s0, s)
	}
}

// fuseConvs enables fuseConvBlocks; tests clear it to compare the fused
// blocks with the separate ops.
var fuseConvs = true

// fusesConvBlocks reports whether the convolution blocks of c's CNN become
// convPool ops, for layoutOf: with ReLU and neither batch norm nor dropout,
// as then nothing sits between a block's convolution, activation and pooling
// (fuseConvBlocks checks the ops themselves; the two must agree).
func fusesConvBlocks(c Config) bool {
	return fuseConvs && c.Activation == ReLU &&
		c.BatchNorm != BatchNormBefore && c.BatchNorm != BatchNormAfter && c.Dropout <= 0
}

// fuseConvBlocks replaces each conv3x3, ReLU activation and maxPool2 that
// follow one another in n.ops by one convPool, keeping n.dims, n.inplace and
// the hidden layers' activation indices in step (a fused block's hidden
// layer reads the pooled activation). A block with anything else between
// its convolution and pooling stays as separate ops. It runs before the
// workspace is allocated.
func (n *network) fuseConvBlocks() {
	if !fuseConvs {
		return
	}
	for i := 0; i+2 < len(n.ops); i++ {
		cv, ok := n.ops[i].(*conv3x3)
		if !ok {
			continue
		}
		a, ok := n.ops[i+1].(*activation)
		if !ok || a.kind != ReLU {
			continue
		}
		if _, ok := n.ops[i+2].(*maxPool2); !ok {
			continue
		}
		n.ops = append(n.ops[:i], append([]op{&convPool{*cv}}, n.ops[i+3:]...)...)
		n.dims = append(n.dims[:i], n.dims[i+2:]...)
		n.inplace = append(n.inplace[:i], n.inplace[i+2:]...)
		for j := range n.hidden {
			switch h := &n.hidden[j]; {
			case h.act == i+1:
				h.act = i
			case h.act > i+2:
				h.act -= 2
			}
		}
	}
}

// opIndex is the position of o in n.ops.
func (n *network) opIndex(o op) int {
	for i, x := range n.ops {
		if x == o {
			return i
		}
	}
	panic("trainer: op not in its network")
}

// allocConvWorkspace sizes the fused blocks' buffers for rows samples: the
// im2col scratch, one chunk's convolution output, and the pooling maxima of
// each block.
func (n *network) allocConvWorkspace(rows int) {
	scratch, conv := len(n.cols), 0
	n.poolArgs = make([][]uint8, len(n.ops))
	for i, o := range n.ops {
		p, ok := o.(*convPool)
		if !ok {
			continue
		}
		scratch = max(scratch, convScratchLen(p.h, p.w, p.cin, rows))
		conv = max(conv, convChunk(p.h, p.w, p.cin, rows)*p.h*p.w*p.cout)
		n.poolArgs[i] = make([]uint8, rows*(p.h/2)*(p.w/2)*p.cout)
	}
	if scratch > len(n.cols) {
		n.cols = make([]float32, scratch)
	}
	n.convOut = make([]float32, conv)
}
