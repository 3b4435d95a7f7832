package trainer

import (
	"math"

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
func im2col(cols, in []float32, rows, h, w, ch int) {
	k := 9 * ch
	for s := range rows {
		img := in[s*h*w*ch : (s+1)*h*w*ch]
		for y := range h {
			for x := range w {
				row := cols[((s*h+y)*w+x)*k : ((s*h+y)*w+x+1)*k]
				for ky := range 3 {
					iy := y + ky - 1
					for kx := range 3 {
						ix := x + kx - 1
						dst := row[(ky*3+kx)*ch : (ky*3+kx+1)*ch]
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							clear(dst)
							continue
						}
						copy(dst, img[(iy*w+ix)*ch:(iy*w+ix+1)*ch])
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
// dropped). The gradient flows to the first maximum of each window.
type maxPool2 struct {
	h, w, c int
	argmax  []int32 // per output element, the input offset within its sample
}

func (p *maxPool2) forward(n *network, in, out []float32, rows int) {
	oh, ow := p.h/2, p.w/2
	per := oh * ow * p.c
	for s := range rows {
		img := in[s*p.h*p.w*p.c : (s+1)*p.h*p.w*p.c]
		o := out[s*per : (s+1)*per]
		am := p.argmax[s*per : (s+1)*per]
		for y := range oh {
			for x := range ow {
				base := ((2*y)*p.w + 2*x) * p.c
				for ch := range p.c {
					best := base + ch
					bv := img[best]
					for _, off := range [3]int{p.c, p.w * p.c, (p.w + 1) * p.c} {
						if v := img[base+off+ch]; v > bv || (math.IsNaN(float64(v)) && !math.IsNaN(float64(bv))) {
							best, bv = base+off+ch, v
						}
					}
					i := (y*ow+x)*p.c + ch
					o[i] = bv
					am[i] = int32(best)
				}
			}
		}
	}
}

func (p *maxPool2) backward(n *network, in, out, dOut, dIn []float32, rows int) {
	if dIn == nil {
		return
	}
	per := (p.h / 2) * (p.w / 2) * p.c
	ins := p.h * p.w * p.c
	clear(dIn[:rows*ins])
	for s := range rows {
		d := dIn[s*ins : (s+1)*ins]
		am := p.argmax[s*per : (s+1)*per]
		for i, g := range dOut[s*per : (s+1)*per] {
			d[am[i]] += g
		}
	}
}
