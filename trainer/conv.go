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
	per, k := c.h*c.w, 9*c.cin
	w := n.params[c.wOff : c.wOff+k*c.cout]
	chunk := convChunk(c.h, c.w, c.cin, n.capRows)
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		pix := s * per
		cols := n.cols[:pix*k]
		o := out[s0*per*c.cout:]
		if c.cin == 1 {
			// One channel: the transposed im2col, nine shifted copies of
			// the image (9 x pix), read by columns.
			im2colT1(cols, in[s0*per:], s, c.h, c.w)
			kernels.SgemmParallel(n.threads, true, false, pix, c.cout, k, 1, cols, pix, w, c.cout, 0, o, c.cout)
			continue
		}
		im2col(cols, in[s0*per*c.cin:], s, c.h, c.w, c.cin)
		kernels.SgemmParallel(n.threads, false, false, pix, c.cout, k, 1, cols, k, w, c.cout, 0, o, c.cout)
	}
	kernels.AddBias(out, rows*per, c.cout, c.cout, n.params[c.bOff:c.bOff+c.cout])
}

func (c *conv3x3) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	per, k := c.h*c.w, 9*c.cin
	w := n.params[c.wOff : c.wOff+k*c.cout]
	dw := n.grads[c.wOff : c.wOff+k*c.cout]
	kernels.ColSums(n.grads[c.bOff:c.bOff+c.cout], dOut, rows*per, c.cout, c.cout)
	chunk := convChunk(c.h, c.w, c.cin, n.capRows)
	var beta float32
	for s0 := 0; s0 < rows; s0 += chunk {
		s := min(chunk, rows-s0)
		pix := s * per
		cols := n.cols[:pix*k]
		g := dOut[s0*per*c.cout:]
		if c.cin == 1 {
			im2colT1(cols, in[s0*per:], s, c.h, c.w)
			kernels.SgemmParallel(n.threads, false, false, k, c.cout, pix, 1, cols, pix, g, c.cout, beta, dw, c.cout)
			beta = 1
			if dIn != nil {
				kernels.SgemmParallel(n.threads, false, true, k, pix, c.cout, 1, w, c.cout, g, c.cout, 0, cols, pix)
				col2imT1(dIn[s0*per:(s0+s)*per], cols, s, c.h, c.w)
			}
			continue
		}
		im2col(cols, in[s0*per*c.cin:], s, c.h, c.w, c.cin)
		kernels.SgemmParallel(n.threads, true, false, k, c.cout, pix, 1, cols, k, g, c.cout, beta, dw, c.cout)
		beta = 1
		if dIn == nil {
			continue
		}
		// The chunk's im2col is no longer needed: it receives d(cols).
		kernels.SgemmParallel(n.threads, false, true, pix, k, c.cout, 1, g, c.cout, w, c.cout, 0, cols, k)
		col2im(dIn[s0*per*c.cin:(s0+s)*per*c.cin], cols, s, c.h, c.w, c.cin)
	}
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

// im2col writes, for each output pixel (sample, y, x), the 3x3 neighbourhood
// of the input (ky, kx, channel order; zeros outside the image) as one row of cols.
// In the h x w x ch layout the three pixels of a kernel row are contiguous, so
// an interior pixel costs three copies of 3*ch floats.
func im2col(cols, in []float32, rows, h, w, ch int) {
	k := 9 * ch
	run := 3 * ch
	for s := range rows {
		img := in[s*h*w*ch : (s+1)*h*w*ch]
		for y := range h {
			for x := range w {
				row := cols[((s*h+y)*w+x)*k : ((s*h+y)*w+x+1)*k]
				for ky := range 3 {
					iy := y + ky - 1
					dst := row[ky*run : (ky+1)*run]
					switch {
					case iy < 0 || iy >= h:
						clear(dst)
					case x >= 1 && x+1 < w:
						src := img[(iy*w+x-1)*ch : (iy*w+x+2)*ch]
						if run >= 16 {
							copy(dst, src)
						} else {
							// A loop beats copy's call for a few channels.
							//lint:ignore S1001 deliberate, see above
							for j, v := range src {
								dst[j] = v
							}
						}
					default:
						for kx := range 3 {
							ix := x + kx - 1
							d := dst[kx*ch : (kx+1)*ch]
							if ix < 0 || ix >= w {
								clear(d)
							} else {
								copy(d, img[(iy*w+ix)*ch:(iy*w+ix+1)*ch])
							}
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it overwrites din with the sum, over
// every row of cols, of the entries that came from each input element. As in
// im2col, an interior pixel's kernel row is one contiguous run of 3*ch floats
// on both sides, added with one vector Axpy.
func col2im(din, cols []float32, rows, h, w, ch int) {
	clear(din)
	k := 9 * ch
	run := 3 * ch
	for s := range rows {
		img := din[s*h*w*ch : (s+1)*h*w*ch]
		for y := range h {
			for x := range w {
				row := cols[((s*h+y)*w+x)*k : ((s*h+y)*w+x+1)*k]
				for ky := range 3 {
					iy := y + ky - 1
					if iy < 0 || iy >= h {
						continue
					}
					if x >= 1 && x+1 < w {
						src := row[ky*run : (ky+1)*run]
						dst := img[(iy*w+x-1)*ch : (iy*w+x+2)*ch]
						if run >= 16 {
							kernels.Axpy(1, src, dst)
						} else {
							for j, v := range src {
								dst[j] += v
							}
						}
						continue
					}
					for kx := range 3 {
						ix := x + kx - 1
						if ix < 0 || ix >= w {
							continue
						}
						src := row[(ky*3+kx)*ch : (ky*3+kx+1)*ch]
						dst := img[(iy*w+ix)*ch : (iy*w+ix+1)*ch]
						for j, v := range src {
							dst[j] += v
						}
					}
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
