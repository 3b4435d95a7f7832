package kernels

// MaxPool2 computes 2x2 max pooling with stride 2 over rows images of h x w
// pixels of c channels each, stored channels last (pixel (y, x) of image s
// at in[((s*h+y)*w+x)*c:][:c]): out holds rows images of h/2 x w/2 pixels,
// an odd last row or column of the input being dropped. A NaN in a window
// makes its output NaN; the sign of a zero maximum is unspecified.
func MaxPool2(out, in []float32, rows, h, w, c int) {
	checkPool("MaxPool2", rows, h, w, c, in, "out", out)
	oh, ow := h/2, w/2
	for s := range rows {
		img := in[s*h*w*c : (s+1)*h*w*c]
		o := out[s*oh*ow*c : (s+1)*oh*ow*c]
		for y := range oh {
			maxPool2Row(o[y*ow*c:(y+1)*ow*c], img[2*y*w*c:(2*y+1)*w*c], img[(2*y+1)*w*c:(2*y+2)*w*c], ow, c)
		}
	}
}

// MaxPool2Backward overwrites dIn (the shape of MaxPool2's input) with the
// gradient of MaxPool2 for the output gradient dOut: each window's gradient
// goes to the first of its four elements (in row-major order) that equals
// its maximum, and every other element, dropped rows and columns included,
// gets 0. in is the forward pass's input.
func MaxPool2Backward(dIn, dOut, in []float32, rows, h, w, c int) {
	checkPool("MaxPool2Backward", rows, h, w, c, in, "dOut", dOut)
	if len(dIn) != len(in) {
		panicf("MaxPool2Backward: len(dIn) = %d, must equal len(in) = %d", len(dIn), len(in))
	}
	oh, ow := h/2, w/2
	if h%2 != 0 || w%2 != 0 {
		clear(dIn) // the windows below do not cover the dropped elements
	}
	for s := range rows {
		img := in[s*h*w*c : (s+1)*h*w*c]
		d := dIn[s*h*w*c : (s+1)*h*w*c]
		g := dOut[s*oh*ow*c : (s+1)*oh*ow*c]
		for y := range oh {
			r0, r1 := (2*y)*w*c, (2*y+1)*w*c
			maxPool2RowBackward(d[r0:r0+w*c], d[r1:r1+w*c], g[y*ow*c:(y+1)*ow*c], img[r0:r0+w*c], img[r1:r1+w*c], ow, c)
		}
	}
}

func checkPool(fn string, rows, h, w, c int, in []float32, name string, out []float32) {
	checkDims(fn, "rows, h, w, c", rows, h, w, c)
	if len(in) != rows*h*w*c {
		panicf("%s: len(in) = %d, must be rows*h*w*c = %d", fn, len(in), rows*h*w*c)
	}
	if want := rows * (h / 2) * (w / 2) * c; len(out) != want {
		panicf("%s: len(%s) = %d, must be rows*(h/2)*(w/2)*c = %d", fn, name, len(out), want)
	}
}

// maxPool2RowGeneric is the reference loop of one row of windows: r0 and r1
// are two image rows (w*c floats, w >= 2*ow), out one output row:
//
//	out[x*c+j] = max(r0[2x*c+j], r0[(2x+1)*c+j], r1[2x*c+j], r1[(2x+1)*c+j])
func maxPool2RowGeneric(out, r0, r1 []float32, ow, c int) {
	for x := range ow {
		a, b := r0[2*x*c:(2*x+1)*c], r0[(2*x+1)*c:(2*x+2)*c]
		e, f := r1[2*x*c:(2*x+1)*c], r1[(2*x+1)*c:(2*x+2)*c]
		o := out[x*c : (x+1)*c]
		for j := range o {
			o[j] = max(max(a[j], b[j]), max(e[j], f[j]))
		}
	}
}

// maxPool2RowBackwardGeneric is the reference loop of one row of windows:
// each window's gradient g[x*c+j] goes to the first maximum of (a, b, e, f)
// = (r0[2x*c+j], r0[(2x+1)*c+j], r1[2x*c+j], r1[(2x+1)*c+j]), found as
// top = b if a < b else a, bottom likewise from e and f, and bottom if
// top < bottom; the other three elements get 0. d0 and d1 receive the
// gradients of r0 and r1.
func maxPool2RowBackwardGeneric(d0, d1, g, r0, r1 []float32, ow, c int) {
	for x := range ow {
		i0, i1 := 2*x*c, (2*x+1)*c
		for j, v := range g[x*c : (x+1)*c] {
			a, b, e, f := r0[i0+j], r0[i1+j], r1[i0+j], r1[i1+j]
			mb, mf := a < b, e < f
			top, bot := a, e
			if mb {
				top = b
			}
			if mf {
				bot = f
			}
			mt := top < bot
			d0[i0+j], d0[i1+j], d1[i0+j], d1[i1+j] = 0, 0, 0, 0
			switch {
			case !mt && !mb:
				d0[i0+j] = v
			case !mt:
				d0[i1+j] = v
			case !mf:
				d1[i0+j] = v
			default:
				d1[i1+j] = v
			}
		}
	}
}

// MaxPool2Arg is MaxPool2 that also records where each window's maximum
// was: arg (one byte per output element) gets 0, 1, 2 or 3 for the window's
// elements (2y, 2x), (2y, 2x+1), (2y+1, 2x) and (2y+1, 2x+1), the first
// maximum in that order, as MaxPool2Backward picks it. Where a window holds
// a NaN, out is NaN and arg is one of 0..3. MaxPool2BackwardArg then needs
// only arg, not the forward's input.
func MaxPool2Arg(out []float32, arg []uint8, in []float32, rows, h, w, c int) {
	checkPool("MaxPool2Arg", rows, h, w, c, in, "out", out)
	if len(arg) != len(out) {
		panicf("MaxPool2Arg: len(arg) = %d, must equal len(out) = %d", len(arg), len(out))
	}
	oh, ow := h/2, w/2
	for s := range rows {
		img := in[s*h*w*c : (s+1)*h*w*c]
		o := out[s*oh*ow*c : (s+1)*oh*ow*c]
		a := arg[s*oh*ow*c : (s+1)*oh*ow*c]
		for y := range oh {
			maxPool2RowArg(o[y*ow*c:(y+1)*ow*c], a[y*ow*c:(y+1)*ow*c], img[2*y*w*c:(2*y+1)*w*c], img[(2*y+1)*w*c:(2*y+2)*w*c], ow, c)
		}
	}
}

// MaxPool2BackwardArg overwrites dIn (the shape of the pooled input, rows x
// h x w x c) with the gradient of MaxPool2 for the output gradient dOut,
// the windows' maxima located by the arg of MaxPool2Arg: the same result as
// MaxPool2Backward, without reading the forward's input.
func MaxPool2BackwardArg(dIn, dOut []float32, arg []uint8, rows, h, w, c int) {
	checkDims("MaxPool2BackwardArg", "rows, h, w, c", rows, h, w, c)
	oh, ow := h/2, w/2
	if len(dIn) != rows*h*w*c {
		panicf("MaxPool2BackwardArg: len(dIn) = %d, must be rows*h*w*c = %d", len(dIn), rows*h*w*c)
	}
	if want := rows * oh * ow * c; len(dOut) != want || len(arg) != want {
		panicf("MaxPool2BackwardArg: len(dOut) = %d and len(arg) = %d, must be rows*(h/2)*(w/2)*c = %d", len(dOut), len(arg), want)
	}
	if h%2 != 0 || w%2 != 0 {
		clear(dIn)
	}
	for s := range rows {
		d := dIn[s*h*w*c : (s+1)*h*w*c]
		g := dOut[s*oh*ow*c : (s+1)*oh*ow*c]
		a := arg[s*oh*ow*c : (s+1)*oh*ow*c]
		for y := range oh {
			r0, r1 := (2*y)*w*c, (2*y+1)*w*c
			maxPool2RowBackwardArg(d[r0:r0+w*c], d[r1:r1+w*c], g[y*ow*c:(y+1)*ow*c], a[y*ow*c:(y+1)*ow*c], ow, c)
		}
	}
}

// maxPool2RowArgGeneric is maxPool2RowGeneric that also writes each
// window's first maximum into arg, chosen as maxPool2RowBackwardGeneric
// does: top = b if a < b else a, bottom likewise from e and f, and bottom
// if top < bottom.
func maxPool2RowArgGeneric(out []float32, arg []uint8, r0, r1 []float32, ow, c int) {
	for x := range ow {
		i0, i1 := 2*x*c, (2*x+1)*c
		o := out[x*c : (x+1)*c]
		g := arg[x*c : (x+1)*c]
		for j := range o {
			a, b, e, f := r0[i0+j], r0[i1+j], r1[i0+j], r1[i1+j]
			top, bot := a, e
			var it, ib uint8 = 0, 2
			if a < b {
				top, it = b, 1
			}
			if e < f {
				bot, ib = f, 3
			}
			if top < bot {
				top, it = bot, ib
			}
			o[j] = max(max(a, b), max(e, f)) // NaN-propagating, as MaxPool2
			g[j] = it
		}
	}
}

// maxPool2RowBackwardArgGeneric writes one row of windows of
// MaxPool2BackwardArg: each window's gradient to the element arg names, 0
// to the other three.
func maxPool2RowBackwardArgGeneric(d0, d1, g []float32, arg []uint8, ow, c int) {
	for x := range ow {
		i0, i1 := 2*x*c, (2*x+1)*c
		for j, v := range g[x*c : (x+1)*c] {
			d0[i0+j], d0[i1+j], d1[i0+j], d1[i1+j] = 0, 0, 0, 0
			switch arg[x*c+j] & 3 {
			case 0:
				d0[i0+j] = v
			case 1:
				d0[i1+j] = v
			case 2:
				d1[i0+j] = v
			default:
				d1[i1+j] = v
			}
		}
	}
}
