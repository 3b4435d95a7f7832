package main

// genPool writes the 2x2 max-pooling kernels over one row of windows of a
// channels-last image, AVX2 only: they move data more than they compute,
// so 256-bit vectors serve AVX-512 machines as well.
func genPool(f *file) {
	genPoolForward(f)
	genPoolBackward(f)
	genPoolForwardArg(f)
	genPoolBackwardArg(f)
}

// poolLoop writes the loops over the ow windows (CX) of a row and the c
// channels (R8, in bytes) of each, 8 at a time (AX): r0 and r1 advance in SI
// and DX, R9 and R10 point at the windows' second pixels; body handles one
// vector, advance moves the other pointers to the next window.
func poolLoop(f *file, name string, body func(), advance func()) {
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_done", name)
	f.ins("TESTQ R8, R8")
	f.ins("JZ %s_done", name)
	f.label(name + "_x")
	f.ins("LEAQ (SI)(R8*1), R9")
	f.ins("LEAQ (DX)(R8*1), R10")
	f.ins("XORQ AX, AX")
	f.label(name + "_v")
	body()
	f.ins("ADDQ $32, AX")
	f.ins("CMPQ AX, R8")
	f.ins("JB %s_v", name)
	f.ins("LEAQ (SI)(R8*2), SI")
	f.ins("LEAQ (DX)(R8*2), DX")
	advance()
	f.ins("DECQ CX")
	f.ins("JNZ %s_x", name)
	f.label(name + "_done")
	f.ins("VZEROUPPER")
	f.ins("RET")
}

func genPoolForward(f *file) {
	const name = "maxPool2RowAVX2"
	const sig = "(out, r0, r1 *float32, ow, c int)"
	f.decl(name+" is maxPool2RowGeneric for c a multiple of 8: out[x*c+j] is the maximum of the window of r0 and r1 (two image rows) at pixels 2x and 2x+1, NaN when the window holds one.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	f.ins("MOVQ out+0(FP), DI")
	f.ins("MOVQ r0+8(FP), SI")
	f.ins("MOVQ r1+16(FP), DX")
	f.ins("MOVQ ow+24(FP), CX")
	f.ins("MOVQ c+32(FP), R8")
	f.ins("SHLQ $2, R8")
	f.ins("VMOVUPS %s, Y15", f.constantBits("poolQNaN", 0x7fc00000))
	poolLoop(f, name, func() {
		f.ins("VMOVUPS (SI)(AX*1), Y0")
		f.ins("VMOVUPS (R9)(AX*1), Y1")
		f.ins("VMOVUPS (DX)(AX*1), Y2")
		f.ins("VMOVUPS (R10)(AX*1), Y3")
		f.ins("VMAXPS Y1, Y0, Y4")
		f.ins("VMAXPS Y3, Y2, Y5")
		f.ins("VMAXPS Y5, Y4, Y4")
		// VMAXPS drops a NaN operand; set the quiet-NaN bits where any
		// element of the window is unordered.
		f.ins("VCMPPS $3, Y1, Y0, Y6")
		f.ins("VCMPPS $3, Y3, Y2, Y7")
		f.ins("VORPS Y7, Y6, Y6")
		f.ins("VANDPS Y15, Y6, Y6")
		f.ins("VORPS Y6, Y4, Y4")
		f.ins("VMOVUPS Y4, (DI)(AX*1)")
	}, func() {
		f.ins("ADDQ R8, DI")
	})
}

func genPoolBackward(f *file) {
	const name = "maxPool2RowBackwardAVX2"
	const sig = "(d0, d1, dy, r0, r1 *float32, ow, c int)"
	f.decl(name+" is maxPool2RowBackwardGeneric for c a multiple of 8: every element of the windows of r0 and r1 gets, in d0 and d1, its window's gradient dy if it is the window's first maximum, else 0.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	f.ins("MOVQ d0+0(FP), DI")
	f.ins("MOVQ d1+8(FP), BX")
	f.ins("MOVQ dy+16(FP), R11")
	f.ins("MOVQ r0+24(FP), SI")
	f.ins("MOVQ r1+32(FP), DX")
	f.ins("MOVQ ow+40(FP), CX")
	f.ins("MOVQ c+48(FP), R8")
	f.ins("SHLQ $2, R8")
	poolLoop(f, name, func() {
		f.ins("VMOVUPS (SI)(AX*1), Y0")   // a
		f.ins("VMOVUPS (R9)(AX*1), Y1")   // b
		f.ins("VMOVUPS (DX)(AX*1), Y2")   // e
		f.ins("VMOVUPS (R10)(AX*1), Y3")  // f
		f.ins("VMOVUPS (R11)(AX*1), Y4")  // g
		f.ins("VCMPPS $1, Y1, Y0, Y5")    // mb = a < b
		f.ins("VBLENDVPS Y5, Y1, Y0, Y6") // top = mb ? b : a
		f.ins("VCMPPS $1, Y3, Y2, Y7")    // mf = e < f
		f.ins("VBLENDVPS Y7, Y3, Y2, Y8") // bot = mf ? f : e
		f.ins("VCMPPS $1, Y8, Y6, Y9")    // mt = top < bot
		f.ins("VORPS Y9, Y5, Y10")
		f.ins("VANDNPS Y4, Y10, Y10") // da = ~(mb|mt) & g
		f.ins("VANDNPS Y5, Y9, Y11")  // ~mt & mb
		f.ins("VANDPS Y4, Y11, Y11")  // db
		f.ins("VANDNPS Y9, Y7, Y12")  // ~mf & mt
		f.ins("VANDPS Y4, Y12, Y12")  // de
		f.ins("VANDPS Y9, Y7, Y13")   // mf & mt
		f.ins("VANDPS Y4, Y13, Y13")  // df
		f.ins("LEAQ (DI)(R8*1), R12")
		f.ins("LEAQ (BX)(R8*1), R13")
		f.ins("VMOVUPS Y10, (DI)(AX*1)")
		f.ins("VMOVUPS Y11, (R12)(AX*1)")
		f.ins("VMOVUPS Y12, (BX)(AX*1)")
		f.ins("VMOVUPS Y13, (R13)(AX*1)")
	}, func() {
		f.ins("LEAQ (DI)(R8*2), DI")
		f.ins("LEAQ (BX)(R8*2), BX")
		f.ins("ADDQ R8, R11")
	})
}

func genPoolForwardArg(f *file) {
	const name = "maxPool2RowArgAVX2"
	const sig = "(out *float32, arg *uint8, r0, r1 *float32, ow, c int)"
	f.decl(name+" is maxPool2RowArgGeneric for c a multiple of 8: maxPool2RowAVX2 that also writes each window's first maximum (0..3) into arg, one byte per output element.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	f.ins("MOVQ out+0(FP), DI")
	f.ins("MOVQ arg+8(FP), R11")
	f.ins("MOVQ r0+16(FP), SI")
	f.ins("MOVQ r1+24(FP), DX")
	f.ins("MOVQ ow+32(FP), CX")
	f.ins("MOVQ c+40(FP), R8")
	f.ins("MOVQ R8, R13")
	f.ins("SHLQ $2, R8")
	f.ins("VMOVUPS %s, Y15", f.constantBits("poolQNaN", 0x7fc00000))
	f.ins("VMOVUPS %s, Y14", f.constantBits("poolI1", 1))
	f.ins("VMOVUPS %s, Y13", f.constantBits("poolI2", 2))
	poolLoop(f, name, func() {
		f.ins("VMOVUPS (SI)(AX*1), Y0")   // a
		f.ins("VMOVUPS (R9)(AX*1), Y1")   // b
		f.ins("VMOVUPS (DX)(AX*1), Y2")   // e
		f.ins("VMOVUPS (R10)(AX*1), Y3")  // f
		f.ins("VCMPPS $1, Y1, Y0, Y5")    // mb = a < b
		f.ins("VBLENDVPS Y5, Y1, Y0, Y6") // top = mb ? b : a
		f.ins("VCMPPS $1, Y3, Y2, Y7")    // mf = e < f
		f.ins("VBLENDVPS Y7, Y3, Y2, Y8") // bot = mf ? f : e
		f.ins("VCMPPS $1, Y8, Y6, Y9")    // mt = top < bot
		f.ins("VBLENDVPS Y9, Y8, Y6, Y4") // the maximum
		// The comparisons are false on a NaN; set the quiet-NaN bits where
		// any element of the window is unordered.
		f.ins("VCMPPS $3, Y1, Y0, Y10")
		f.ins("VCMPPS $3, Y3, Y2, Y11")
		f.ins("VORPS Y11, Y10, Y10")
		f.ins("VANDPS Y15, Y10, Y10")
		f.ins("VORPS Y10, Y4, Y4")
		f.ins("VMOVUPS Y4, (DI)(AX*1)")
		// arg = (mt ? 2 : 0) | ((mt ? mf : mb) ? 1 : 0), packed to bytes.
		f.ins("VBLENDVPS Y9, Y7, Y5, Y10")
		f.ins("VANDPS Y14, Y10, Y10")
		f.ins("VANDPS Y13, Y9, Y11")
		f.ins("VORPS Y11, Y10, Y10")
		f.ins("VEXTRACTI128 $1, Y10, X11")
		f.ins("VPACKUSDW X11, X10, X10")
		f.ins("VPACKUSWB X10, X10, X10")
		f.ins("MOVQ AX, R12")
		f.ins("SHRQ $2, R12")
		f.ins("VMOVQ X10, (R11)(R12*1)")
	}, func() {
		f.ins("ADDQ R8, DI")
		f.ins("ADDQ R13, R11")
	})
}

func genPoolBackwardArg(f *file) {
	const name = "maxPool2RowBackwardArgAVX2"
	const sig = "(d0, d1, dy *float32, arg *uint8, ow, c int)"
	f.decl(name+" is maxPool2RowBackwardArgGeneric for c a multiple of 8: each window's gradient dy goes to its element arg names, in d0 and d1 (two image rows), 0 to the other three.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	// poolLoop's two row pointers are the rows of the gradient here.
	f.ins("MOVQ d0+0(FP), SI")
	f.ins("MOVQ d1+8(FP), DX")
	f.ins("MOVQ dy+16(FP), DI")
	f.ins("MOVQ arg+24(FP), R11")
	f.ins("MOVQ ow+32(FP), CX")
	f.ins("MOVQ c+40(FP), R8")
	f.ins("MOVQ R8, R13")
	f.ins("SHLQ $2, R8")
	f.ins("VPXOR Y12, Y12, Y12")
	f.ins("VMOVUPS %s, Y13", f.constantBits("poolI1", 1))
	f.ins("VMOVUPS %s, Y14", f.constantBits("poolI2", 2))
	f.ins("VMOVUPS %s, Y15", f.constantBits("poolI3", 3))
	poolLoop(f, name, func() {
		f.ins("MOVQ AX, R12")
		f.ins("SHRQ $2, R12")
		f.ins("VPMOVZXBD (R11)(R12*1), Y4")
		f.ins("VMOVUPS (DI)(AX*1), Y5")
		for i, r := range []string{"Y12", "Y13", "Y14", "Y15"} {
			f.ins("VPCMPEQD %s, Y4, Y%d", r, i)
			f.ins("VANDPS Y5, Y%d, Y%d", i, i)
		}
		f.ins("VMOVUPS Y0, (SI)(AX*1)")
		f.ins("VMOVUPS Y1, (R9)(AX*1)")
		f.ins("VMOVUPS Y2, (DX)(AX*1)")
		f.ins("VMOVUPS Y3, (R10)(AX*1)")
	}, func() {
		f.ins("ADDQ R8, DI")
		f.ins("ADDQ R13, R11")
	})
}
