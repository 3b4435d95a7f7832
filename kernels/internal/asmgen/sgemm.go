package main

import "fmt"

// A micro-kernel computes an mr x (nv*w) tile of C = alpha*A*B + beta*C
// from kc columns of A and a packed panel of B (kc rows of nv*w floats).
// Mode "R" reads A as rows (element (i,l) at a[i*lda+l], no packing needed
// for a row-major A); mode "C" reads A as columns (element (i,l) at
// a[l*lda+i], which serves a transposed A and a packed A with lda = mr).
type kernelShape struct {
	mr, nv int
}

// The shapes generated per instruction set; asm_amd64.go picks among them.
var kernelShapes = map[*isa][]kernelShape{
	avx512: {{8, 2}, {16, 1}},
	avx2:   {{6, 2}},
}

const kernelSig = "(kc int, a *float32, lda int, b *float32, c *float32, ldc int, alpha float32, beta float32, mask uint32)"

func genSgemm(f *file) {
	for _, s := range []*isa{avx512, avx2} {
		for _, ks := range kernelShapes[s] {
			for _, mode := range []string{"R", "C"} {
				genKernel(f, s, ks, mode)
			}
		}
	}
	for nc := 1; nc <= narrowMax; nc++ {
		genNarrowT(f, nc)
	}
	f.decls.WriteString("\n// sgemmNarrowKernelsAVX512[nc] is the 32 x nc transposed-tile kernel for nc columns.\nvar sgemmNarrowKernelsAVX512 = [...]narrowKernel{nil")
	for nc := 1; nc <= narrowMax; nc++ {
		fmt.Fprintf(&f.decls, ", sgemmNarrow32x%dAVX512", nc)
	}
	f.decls.WriteString("}\n")
	genPackN(f, avx512, 32)
	genPackN(f, avx512, 16)
	genPackN(f, avx2, 16)
	genPackT(f)
}

// rowBases lists the pointer registers that hold a + q*lda for the row
// offsets q used by rowAddr; R9 holds lda and R12 3*lda, in bytes.
var rowBases = []struct {
	q   int
	reg string
}{{0, "SI"}, {3, "R10"}, {8, "R11"}, {11, "R13"}}

// rowAddr returns the memory operand of row i of A at byte offset disp,
// addressing from the row bases with the scaled index registers.
func rowAddr(i, disp int) string {
	for _, b := range rowBases {
		d := i - b.q
		if d < 0 {
			continue
		}
		if d == 0 {
			return fmt.Sprintf("%d(%s)", disp, b.reg)
		}
		for _, sc := range []int{1, 2, 4, 8} {
			if d == sc {
				return fmt.Sprintf("%d(%s)(R9*%d)", disp, b.reg, sc)
			}
			if d == 3*sc {
				return fmt.Sprintf("%d(%s)(R12*%d)", disp, b.reg, sc)
			}
		}
	}
	panic(fmt.Sprintf("row %d not addressable", i))
}

// setupRowBases loads R9 = lda bytes (already set), R12 = 3*lda and the
// row-base registers needed for mr rows.
func setupRowBases(f *file, mr int) {
	f.ins("LEAQ (R9)(R9*2), R12")
	for _, b := range rowBases[1:] {
		if b.q >= mr {
			break
		}
		switch b.q {
		case 3:
			f.ins("LEAQ (SI)(R12*1), R10")
		case 8:
			f.ins("LEAQ (SI)(R9*8), R11")
		case 11:
			f.ins("LEAQ (R10)(R9*8), R13")
		}
	}
}

func advanceRowBases(f *file, mr, bytes int) {
	for _, b := range rowBases {
		if b.q >= mr {
			break
		}
		f.ins("ADDQ $%d, %s", bytes, b.reg)
	}
}

func genKernel(f *file, s *isa, ks kernelShape, mode string) {
	mr, nv := ks.mr, ks.nv
	nr := nv * s.w
	nacc := mr * nv
	nbc := min(4, s.nregs-nacc-nv)
	if nbc < 1 {
		panic("no register left for broadcasts")
	}
	name := fmt.Sprintf("sgemmKernel%s%dx%d%s", mode, mr, nr, s.name)
	acc := func(i, v int) string { return s.vreg(i*nv + v) }
	bv := func(v int) string { return s.vreg(nacc + v) }
	bc := func(i int) string { return s.vreg(nacc + nv + i%nbc) }
	masked := s == avx512

	how := "reading A by rows (element (i,l) at a[i*lda+l])"
	if mode == "C" {
		how = "reading A by columns (element (i,l) at a[l*lda+i])"
	}
	maskDoc := "mask is ignored: every column is stored."
	if masked {
		maskDoc = "Only columns j with bit j of mask set are read and written."
	}
	f.decl(fmt.Sprintf("%s computes the %dx%d tile c = alpha*A*B + beta*c (beta == 0: c is not read), %s, from a packed %d-wide panel of B over kc steps. ldc is in elements. %s",
		name, mr, nr, how, nr, maskDoc), name+kernelSig)

	f.printf("\n// func %s%s\n", name, kernelSig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-60\n", name)
	f.ins("MOVQ kc+0(FP), CX")
	f.ins("MOVQ a+8(FP), SI")
	f.ins("MOVQ lda+16(FP), R9")
	f.ins("SHLQ $2, R9")
	f.ins("MOVQ b+24(FP), DI")
	if mode == "R" {
		setupRowBases(f, mr)
	} else {
		f.ins("LEAQ (R9)(R9*2), R12")
		f.ins("LEAQ (SI)(R12*1), R10")
	}
	for i := 0; i < nacc; i++ {
		if s == avx512 {
			f.ins("VPXORD %s, %s, %s", s.vreg(i), s.vreg(i), s.vreg(i))
		} else {
			f.ins("VXORPS %s, %s, %s", s.vreg(i), s.vreg(i), s.vreg(i))
		}
	}
	// Touch the C tile early so its lines arrive while the products run.
	f.ins("MOVQ c+32(FP), DX")
	f.ins("MOVQ ldc+40(FP), R8")
	f.ins("SHLQ $2, R8")
	f.ins("MOVQ DX, AX")
	for i := 0; i < mr; i++ {
		for off := 0; off < nr*4; off += 64 {
			f.ins("PREFETCHT0 %d(AX)", off)
		}
		if i < mr-1 {
			f.ins("ADDQ R8, AX")
		}
	}

	step := func(u int) {
		for v := 0; v < nv; v++ {
			f.ins("VMOVUPS %d(DI), %s", (u*nr+v*s.w)*4, bv(v))
		}
		for i := 0; i < mr; i++ {
			var addr string
			if mode == "R" {
				addr = rowAddr(i, 4*u)
			} else {
				switch u {
				case 0:
					addr = fmt.Sprintf("%d(SI)", 4*i)
				case 1:
					addr = fmt.Sprintf("%d(SI)(R9*1)", 4*i)
				case 2:
					addr = fmt.Sprintf("%d(SI)(R9*2)", 4*i)
				case 3:
					addr = fmt.Sprintf("%d(R10)", 4*i)
				}
			}
			if s == avx512 && nv == 1 {
				// One FMA per row with the broadcast folded into its load.
				f.ins("VFMADD231PS.BCST %s, %s, %s", addr, bv(0), acc(i, 0))
				continue
			}
			f.ins("VBROADCASTSS %s, %s", addr, bc(i))
			for v := 0; v < nv; v++ {
				f.ins("VFMADD231PS %s, %s, %s", bv(v), bc(i), acc(i, v))
			}
		}
	}
	advance := func(steps int) {
		f.ins("ADDQ $%d, DI", steps*nr*4)
		if mode == "R" {
			advanceRowBases(f, mr, 4*steps)
			return
		}
		if steps == 4 {
			f.ins("LEAQ (SI)(R9*4), SI")
			f.ins("LEAQ (R10)(R9*4), R10")
		} else {
			f.ins("ADDQ R9, SI")
		}
	}

	f.ins("CMPQ CX, $4")
	f.ins("JL %s_tail", name)
	f.label(name + "_loop4")
	for u := 0; u < 4; u++ {
		step(u)
	}
	advance(4)
	f.ins("SUBQ $4, CX")
	f.ins("CMPQ CX, $4")
	f.ins("JGE %s_loop4", name)
	f.label(name + "_tail")
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_epilogue", name)
	f.label(name + "_loop1")
	step(0)
	advance(1)
	f.ins("DECQ CX")
	f.ins("JNZ %s_loop1", name)

	f.label(name + "_epilogue")
	alpha, beta, tc := bc(0), bc(1), bv(0)
	if nbc < 2 {
		beta = bv(0)
		tc = s.vreg(nacc + nv) // reuse: alpha is applied before beta is loaded
	}
	f.ins("VBROADCASTSS alpha+48(FP), %s", alpha)
	for i := 0; i < nacc; i++ {
		f.ins("VMULPS %s, %s, %s", alpha, s.vreg(i), s.vreg(i))
	}
	if masked {
		f.ins("MOVL mask+56(FP), AX")
		f.ins("KMOVW AX, K1")
		if nv > 1 {
			f.ins("SHRL $16, AX")
			f.ins("KMOVW AX, K2")
		}
	}
	kreg := func(v int) string { return fmt.Sprintf("K%d", v+1) }
	f.ins("MOVL beta+52(FP), AX")
	f.ins("ANDL $0x7fffffff, AX")
	f.ins("JZ %s_store", name)
	f.ins("VBROADCASTSS beta+52(FP), %s", beta)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			off := v * s.bytes
			if masked {
				f.ins("VMOVUPS.Z %d(DX), %s, %s", off, kreg(v), tc)
			} else {
				f.ins("VMOVUPS %d(DX), %s", off, tc)
			}
			f.ins("VFMADD231PS %s, %s, %s", beta, tc, acc(i, v))
			if masked {
				f.ins("VMOVUPS %s, %s, %d(DX)", acc(i, v), kreg(v), off)
			} else {
				f.ins("VMOVUPS %s, %d(DX)", acc(i, v), off)
			}
		}
		f.ins("ADDQ R8, DX")
	}
	f.ins("VZEROUPPER")
	f.ins("RET")
	f.label(name + "_store")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			off := v * s.bytes
			if masked {
				f.ins("VMOVUPS %s, %s, %d(DX)", acc(i, v), kreg(v), off)
			} else {
				f.ins("VMOVUPS %s, %d(DX)", acc(i, v), off)
			}
		}
		f.ins("ADDQ R8, DX")
	}
	f.ins("VZEROUPPER")
	f.ins("RET")
}

// genPackN writes a routine that copies kc rows of nr floats from a
// row-major B (row stride ldb) into a packed panel.
func genPackN(f *file, s *isa, nr int) {
	name := fmt.Sprintf("sgemmPackN%d%s", nr, s.name)
	sig := "(kc int, b *float32, ldb int, dst *float32)"
	f.decl(fmt.Sprintf("%s copies kc rows of %d floats, row stride ldb elements, from b into the packed panel dst.", name, nr), name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	f.ins("MOVQ kc+0(FP), CX")
	f.ins("MOVQ b+8(FP), SI")
	f.ins("MOVQ ldb+16(FP), R9")
	f.ins("SHLQ $2, R9")
	f.ins("MOVQ dst+24(FP), DI")
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_done", name)
	f.label(name + "_loop")
	nv := nr / s.w
	for v := 0; v < nv; v++ {
		f.ins("VMOVUPS %d(SI), %s", v*s.bytes, s.vreg(v))
	}
	for v := 0; v < nv; v++ {
		f.ins("VMOVUPS %s, %d(DI)", s.vreg(v), v*s.bytes)
	}
	f.ins("ADDQ R9, SI")
	f.ins("ADDQ $%d, DI", nr*4)
	f.ins("DECQ CX")
	f.ins("JNZ %s_loop", name)
	f.label(name + "_done")
	f.ins("VZEROUPPER")
	f.ins("RET")
}

// genPackT writes the transposing pack for op(B) = B^T: B is stored n x k,
// and the panel gets dst[l*nr+j] = b[j*ldb+l] for l < kc8 (a multiple of 8)
// and j < nr (a multiple of 8), by 8x8 transposes in ymm registers.
func genPackT(f *file) {
	const name = "sgemmPackTAVX"
	sig := "(kc8 int, b *float32, ldb int, dst *float32, nr int)"
	f.decl(name+" packs the transpose of an nr x kc8 block of B (row stride ldb) into a panel of nr-wide rows; kc8 and nr are multiples of 8.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	f.ins("MOVQ b+8(FP), BX")     // start of the current block of 8 rows of B
	f.ins("MOVQ ldb+16(FP), R9")  // row stride of B in bytes
	f.ins("SHLQ $2, R9")          //
	f.ins("LEAQ (R9)(R9*2), R12") // 3*ldb
	f.ins("MOVQ dst+24(FP), DX")  // panel column of the current block
	f.ins("MOVQ nr+32(FP), R8")   // panel row stride in bytes
	f.ins("SHLQ $2, R8")          //
	f.ins("LEAQ (R8)(R8*2), R13") // 3*nr
	f.ins("MOVQ nr+32(FP), AX")
	f.ins("SHRQ $3, AX") // column blocks left
	f.ins("TESTQ AX, AX")
	f.ins("JZ %s_done", name)
	f.label(name + "_cols")
	f.ins("MOVQ kc8+0(FP), CX")
	f.ins("SHRQ $3, CX")
	f.ins("MOVQ BX, SI")
	f.ins("LEAQ (BX)(R12*1), R10")
	f.ins("MOVQ DX, DI")
	f.ins("LEAQ (DX)(R13*1), R11")
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_next", name)
	f.label(name + "_rows")
	src := []string{"(SI)", "(SI)(R9*1)", "(SI)(R9*2)", "(R10)", "(SI)(R9*4)", "(R10)(R9*2)", "(SI)(R12*2)", "(R10)(R9*4)"}
	for r := 0; r < 8; r++ {
		f.ins("VMOVUPS %s, %s", src[r], yreg(r))
	}
	// Stage 1: interleave pairs of rows.
	for p := 0; p < 4; p++ {
		a, b := yreg(2*p), yreg(2*p+1)
		f.ins("VUNPCKLPS %s, %s, %s", b, a, yreg(8+2*p))
		f.ins("VUNPCKHPS %s, %s, %s", b, a, yreg(9+2*p))
	}
	// Stage 2: combine pairs of pairs.
	// t0=Y8 t1=Y9 t2=Y10 t3=Y11 t4=Y12 t5=Y13 t6=Y14 t7=Y15
	shuf := [][4]any{
		{0x44, 10, 8, 0}, {0xEE, 10, 8, 1}, {0x44, 11, 9, 2}, {0xEE, 11, 9, 3},
		{0x44, 14, 12, 4}, {0xEE, 14, 12, 5}, {0x44, 15, 13, 6}, {0xEE, 15, 13, 7},
	}
	for _, sh := range shuf {
		f.ins("VSHUFPS $0x%02X, %s, %s, %s", sh[0], yreg(sh[1].(int)), yreg(sh[2].(int)), yreg(sh[3].(int)))
	}
	// Stage 3: swap 128-bit halves. s0..s7 = Y0..Y7.
	perm := [][4]int{{0x20, 4, 0, 8}, {0x20, 5, 1, 9}, {0x20, 6, 2, 10}, {0x20, 7, 3, 11},
		{0x31, 4, 0, 12}, {0x31, 5, 1, 13}, {0x31, 6, 2, 14}, {0x31, 7, 3, 15}}
	for _, p := range perm {
		f.ins("VPERM2F128 $0x%02X, %s, %s, %s", p[0], yreg(p[1]), yreg(p[2]), yreg(p[3]))
	}
	dst := []string{"(DI)", "(DI)(R8*1)", "(DI)(R8*2)", "(R11)", "(DI)(R8*4)", "(R11)(R8*2)", "(DI)(R13*2)", "(R11)(R8*4)"}
	for q := 0; q < 8; q++ {
		f.ins("VMOVUPS %s, %s", yreg(8+q), dst[q])
	}
	f.ins("ADDQ $32, SI")
	f.ins("ADDQ $32, R10")
	f.ins("LEAQ (DI)(R8*8), DI")
	f.ins("LEAQ (R11)(R8*8), R11")
	f.ins("DECQ CX")
	f.ins("JNZ %s_rows", name)
	f.label(name + "_next")
	f.ins("LEAQ (BX)(R9*8), BX")
	f.ins("ADDQ $32, DX")
	f.ins("DECQ AX")
	f.ins("JNZ %s_cols", name)
	f.label(name + "_done")
	f.ins("VZEROUPPER")
	f.ins("RET")
}

// narrowMax is the widest C the transposed-tile kernels serve.
const narrowMax = 14

// genNarrowT writes a kernel for a transposed A (element (i,l) at
// a[l*lda+i]) and a narrow, row-major B (element (l,j) at b[l*ldb+j]) with
// nc columns: it keeps C^T in registers, 2 vectors of 16 rows per column,
// so a product with n <= 14 uses every lane. It writes
// d[j*32+r] = alpha*sum_l A(r,l)*B(l,j), the transposed tile, for the
// caller to merge into C.
func genNarrowT(f *file, nc int) {
	s := avx512
	name := fmt.Sprintf("sgemmNarrow32x%dAVX512", nc)
	sig := "(kc int, a *float32, lda int, b *float32, ldb int, d *float32, alpha float32)"
	f.decl(fmt.Sprintf("%s sets d[j*32+r] = alpha * sum over l < kc of a[l*lda+r]*b[l*ldb+j] for r < 32, j < %d.", name, nc), name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-52\n", name)
	acc := func(v, j int) string { return s.vreg(2*j + v) }
	f.ins("MOVQ kc+0(FP), CX")
	f.ins("MOVQ a+8(FP), SI")
	f.ins("MOVQ lda+16(FP), R9")
	f.ins("SHLQ $2, R9")
	f.ins("MOVQ b+24(FP), DI")
	f.ins("MOVQ ldb+32(FP), R10")
	f.ins("SHLQ $2, R10")
	for i := 0; i < 2*nc; i++ {
		f.ins("VPXORD %s, %s, %s", s.vreg(i), s.vreg(i), s.vreg(i))
	}
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_store", name)
	f.label(name + "_loop")
	f.ins("VMOVUPS (SI), Z28")
	f.ins("VMOVUPS 64(SI), Z29")
	for j := 0; j < nc; j++ {
		b := fmt.Sprintf("Z%d", 30+j%2)
		f.ins("VBROADCASTSS %d(DI), %s", 4*j, b)
		f.ins("VFMADD231PS Z28, %s, %s", b, acc(0, j))
		f.ins("VFMADD231PS Z29, %s, %s", b, acc(1, j))
	}
	f.ins("ADDQ R9, SI")
	f.ins("ADDQ R10, DI")
	f.ins("DECQ CX")
	f.ins("JNZ %s_loop", name)
	f.label(name + "_store")
	f.ins("MOVQ d+40(FP), DX")
	f.ins("VBROADCASTSS alpha+48(FP), Z30")
	for j := 0; j < nc; j++ {
		for v := 0; v < 2; v++ {
			f.ins("VMULPS Z30, %s, %s", acc(v, j), acc(v, j))
			f.ins("VMOVUPS %s, %d(DX)", acc(v, j), j*128+v*64)
		}
	}
	f.ins("VZEROUPPER")
	f.ins("RET")
}
