package trainer

import (
	"github.com/relutune/relutune/kernels"
)

// conv3x3 is a 3x3 convolution, stride 1, zero padding 1, computed as one
// matrix product over an im2col buffer: cols (rows*h*w x 9*cin) times W
// (9*cin x cout). Inputs and outputs are h x w x channels per sample.
type conv3x3 struct {
	h, w, cin, cout int
	wOff, bOff      int
	cols            []float32 // im2col of the last forward input; reused for its gradient in backward
}

func (c *conv3x3) forward(n *network, in, out []float32, rows int) {
	pix := rows * c.h * c.w
	k := 9 * c.cin
	im2col(c.cols[:pix*k], in, rows, c.h, c.w, c.cin)
	w := n.params[c.wOff : c.wOff+k*c.cout]
	kernels.SgemmParallel(n.threads, false, false, pix, c.cout, k, 1, c.cols, k, w, c.cout, 0, out, c.cout)
	kernels.AddBias(out, pix, c.cout, c.cout, n.params[c.bOff:c.bOff+c.cout])
}

func (c *conv3x3) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	pix := rows * c.h * c.w
	k := 9 * c.cin
	dw := n.grads[c.wOff : c.wOff+k*c.cout]
	kernels.SgemmParallel(n.threads, true, false, k, c.cout, pix, 1, c.cols, k, dOut, c.cout, 0, dw, c.cout)
	kernels.ColSums(n.grads[c.bOff:c.bOff+c.cout], dOut, pix, c.cout, c.cout)
	if dIn == nil {
		return
	}
	// The im2col buffer is no longer needed: it receives d(cols).
	w := n.params[c.wOff : c.wOff+k*c.cout]
	kernels.SgemmParallel(n.threads, false, true, pix, k, c.cout, 1, dOut, c.cout, w, c.cout, 0, c.cols, k)
	col2im(dIn[:rows*c.h*c.w*c.cin], c.cols[:pix*k], rows, c.h, c.w, c.cin)
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
// every row of cols, of the entries that came from each input element.
func col2im(din, cols []float32, rows, h, w, ch int) {
	clear(din)
	k := 9 * ch
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
// dropped). The gradient flows to the first element of each window that
// equals its maximum; a NaN in a window makes the output NaN (and the loss
// then reports divergence).
type maxPool2 struct {
	h, w, c int
}

func (p *maxPool2) forward(n *network, in, out []float32, rows int) {
	oh, ow, c := p.h/2, p.w/2, p.c
	per := oh * ow * c
	for s := range rows {
		img := in[s*p.h*p.w*c : (s+1)*p.h*p.w*c]
		o := out[s*per : (s+1)*per]
		for y := range oh {
			for x := range ow {
				i00 := ((2*y)*p.w + 2*x) * c
				i10 := i00 + p.w*c
				r00, r01, r10, r11 := img[i00:i00+c], img[i00+c:i00+2*c], img[i10:i10+c], img[i10+c:i10+2*c]
				ov := o[(y*ow+x)*c : (y*ow+x+1)*c]
				for ch := range ov {
					// The builtin max is branch-free (and propagates NaN).
					ov[ch] = max(max(r00[ch], r01[ch]), max(r10[ch], r11[ch]))
				}
			}
		}
	}
}

func (p *maxPool2) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	if dIn == nil {
		return
	}
	oh, ow, c := p.h/2, p.w/2, p.c
	per := oh * ow * c
	ins := p.h * p.w * c
	clear(dIn[:rows*ins])
	for s := range rows {
		img := in[s*ins : (s+1)*ins]
		d := dIn[s*ins : (s+1)*ins]
		o := out[s*per : (s+1)*per]
		g := dOut[s*per : (s+1)*per]
		for y := range oh {
			for x := range ow {
				i00 := ((2*y)*p.w + 2*x) * c
				i10 := i00 + p.w*c
				base := (y*ow + x) * c
				for ch := range c {
					m, gv := o[base+ch], g[base+ch]
					switch {
					case img[i00+ch] == m:
						d[i00+ch] = gv
					case img[i00+c+ch] == m:
						d[i00+c+ch] = gv
					case img[i10+ch] == m:
						d[i10+ch] = gv
					default:
						d[i10+c+ch] = gv
					}
				}
			}
		}
	}
}
