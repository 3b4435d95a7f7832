package kernels

// Im2col3x3 writes the rows of a 3x3 convolution (stride 1, zero padding 1)
// as a matrix product: for each pixel (s, y, x) of rows images of h x w
// pixels of c channels, stored channels last (pixel (y, x) of image s at
// in[((s*h+y)*w+x)*c:][:c]), row (s*h+y)*w+x of cols (9*c floats) holds the
// pixel's 3x3 neighbourhood in (ky, kx, channel) order, zeros outside the
// image. In this layout the three pixels of a kernel row are one contiguous
// run of 3*c floats of the input.
func Im2col3x3(cols, in []float32, rows, h, w, c int) {
	checkDims("Im2col3x3", "rows, h, w, c", rows, h, w, c)
	if len(in) != rows*h*w*c {
		panicf("Im2col3x3: len(in) = %d, must be rows*h*w*c = %d", len(in), rows*h*w*c)
	}
	if len(cols) != rows*h*w*9*c {
		panicf("Im2col3x3: len(cols) = %d, must be rows*h*w*9*c = %d", len(cols), rows*h*w*9*c)
	}
	if c == 0 || w == 0 {
		return
	}
	wc, k := w*c, 9*c
	for s := range rows {
		img := in[s*h*wc : (s+1)*h*wc]
		for y := range h {
			var src [3][]float32
			for ky := range 3 {
				if iy := y + ky - 1; iy >= 0 && iy < h {
					src[ky] = img[iy*wc : (iy+1)*wc]
				}
			}
			im2colRow3x3(cols[(s*h+y)*w*k:(s*h+y+1)*w*k], &src, w, c)
		}
	}
}

// Col2im3x3 is the adjoint of Im2col3x3: it overwrites dIn (rows x h x w x
// c) with, for each input element, the sum of the entries of cols that
// Im2col3x3 copies it to. It gathers: each element of dIn is written once,
// as the sum of up to nine entries.
func Col2im3x3(dIn, cols []float32, rows, h, w, c int) {
	checkDims("Col2im3x3", "rows, h, w, c", rows, h, w, c)
	if len(dIn) != rows*h*w*c {
		panicf("Col2im3x3: len(dIn) = %d, must be rows*h*w*c = %d", len(dIn), rows*h*w*c)
	}
	if len(cols) != rows*h*w*9*c {
		panicf("Col2im3x3: len(cols) = %d, must be rows*h*w*9*c = %d", len(cols), rows*h*w*9*c)
	}
	if c == 0 || w == 0 {
		return
	}
	wc, wk := w*c, w*9*c
	for s := range rows {
		for y := range h {
			// The rows of cols that read input row y: output row y+1-ky
			// reads it as its kernel row ky.
			var src [3][]float32
			for ky := range 3 {
				if oy := y + 1 - ky; oy >= 0 && oy < h {
					src[ky] = cols[(s*h+oy)*wk : (s*h+oy+1)*wk]
				}
			}
			col2imRow3x3(dIn[(s*h+y)*wc:(s*h+y+1)*wc], &src, w, c)
		}
	}
}

// im2colPixel writes the cols row (9*c floats) of pixel x of an image row
// whose kernel rows are src (nil outside the image).
func im2colPixel(dst []float32, src *[3][]float32, x, w, c int) {
	for ky, r := range src {
		for kx := range 3 {
			d := dst[(3*ky+kx)*c : (3*ky+kx+1)*c]
			if ix := x + kx - 1; r != nil && ix >= 0 && ix < w {
				copy(d, r[ix*c:(ix+1)*c])
			} else {
				clear(d)
			}
		}
	}
}

// col2imPixel writes the gradient (c floats) of input pixel x of a row
// whose cols rows are src (src[ky] from the output row reading it as
// kernel row ky, nil outside the image).
func col2imPixel(dst []float32, src *[3][]float32, x, w, c int) {
	clear(dst)
	for ky, r := range src {
		if r == nil {
			continue
		}
		for kx := range 3 {
			ox := x + 1 - kx
			if ox < 0 || ox >= w {
				continue
			}
			for j, v := range r[ox*9*c+(3*ky+kx)*c : ox*9*c+(3*ky+kx+1)*c] {
				dst[j] += v
			}
		}
	}
}

// im2colRow3x3Generic writes the cols rows of one image row of w pixels.
func im2colRow3x3Generic(dst []float32, src *[3][]float32, w, c int) {
	for x := range w {
		im2colPixel(dst[x*9*c:(x+1)*9*c], src, x, w, c)
	}
}

// col2imRow3x3Generic writes the gradient of one input row of w pixels.
func col2imRow3x3Generic(dst []float32, src *[3][]float32, w, c int) {
	for x := range w {
		col2imPixel(dst[x*c:(x+1)*c], src, x, w, c)
	}
}
