package main

import "fmt"

// genConv writes the row kernels of the 3x3 im2col and its adjoint over
// channels-last images, AVX2 only: they move data more than they compute.
func genConv(f *file) {
	genIm2colRow(f)
	genCol2imRow(f)
}

func genIm2colRow(f *file) {
	const name = "im2colRow3x3AVX2"
	const sig = "(dst, r0, r1, r2 *float32, n, c int)"
	f.decl(name+" writes the im2col rows (9*c floats each) of n consecutive pixels whose neighbourhoods lie inside the image columns, c a multiple of 8: pixel i's kernel row k is the 3*c floats of rk from i*c on, or zeros where rk is nil.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	f.ins("MOVQ dst+0(FP), DI")
	f.ins("MOVQ r0+8(FP), SI")
	f.ins("MOVQ r1+16(FP), DX")
	f.ins("MOVQ r2+24(FP), BX")
	f.ins("MOVQ n+32(FP), CX")
	f.ins("MOVQ c+40(FP), R8")
	f.ins("SHLQ $2, R8")          // c in bytes
	f.ins("LEAQ (R8)(R8*2), R9")  // one kernel row, 3*c floats
	f.ins("LEAQ (R8)(R8*8), R10") // one cols row, 9*c floats
	f.ins("VXORPS Y0, Y0, Y0")
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_done", name)
	f.ins("TESTQ R8, R8")
	f.ins("JZ %s_done", name)
	f.label(name + "_x")
	for k, src := range []string{"SI", "DX", "BX"} {
		l := fmt.Sprintf("%s_k%d", name, k)
		switch k {
		case 0:
			f.ins("MOVQ DI, R11")
		case 1:
			f.ins("LEAQ (DI)(R9*1), R11")
		case 2:
			f.ins("LEAQ (DI)(R9*2), R11")
		}
		f.ins("XORQ AX, AX")
		f.ins("TESTQ %s, %s", src, src)
		f.ins("JZ %s_zero", l)
		f.label(l + "_copy")
		f.ins("VMOVUPS (%s)(AX*1), Y1", src)
		f.ins("VMOVUPS Y1, (R11)(AX*1)")
		f.ins("ADDQ $32, AX")
		f.ins("CMPQ AX, R9")
		f.ins("JB %s_copy", l)
		f.ins("ADDQ R8, %s", src)
		f.ins("JMP %s_next", l)
		f.label(l + "_zero")
		f.ins("VMOVUPS Y0, (R11)(AX*1)")
		f.ins("ADDQ $32, AX")
		f.ins("CMPQ AX, R9")
		f.ins("JB %s_zero", l)
		f.label(l + "_next")
	}
	f.ins("ADDQ R10, DI")
	f.ins("DECQ CX")
	f.ins("JNZ %s_x", name)
	f.label(name + "_done")
	f.ins("VZEROUPPER")
	f.ins("RET")
}

func genCol2imRow(f *file) {
	const name = "col2imRow3x3AVX2"
	const sig = "(dst, p0, p1, p2 *float32, nv, n, c int)"
	f.decl(name+" writes the gradient of n consecutive input pixels whose neighbourhoods lie inside the image columns, c a multiple of 8, from nv (1..3) rows of cols: pk points at the kernel row's entry (2, column 0) of its row, and pixel i gets, per cols row, the sum over kx of the c floats at pk + (i*9 + 8*(2-kx))*c.", name+sig)
	f.printf("\n// func %s%s\n", name, sig)
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	f.ins("MOVQ dst+0(FP), DI")
	f.ins("MOVQ p0+8(FP), SI")
	f.ins("MOVQ p1+16(FP), DX")
	f.ins("MOVQ p2+24(FP), BX")
	f.ins("MOVQ nv+32(FP), R12")
	f.ins("MOVQ n+40(FP), CX")
	f.ins("MOVQ c+48(FP), R8")
	f.ins("SHLQ $2, R8") // c in bytes
	f.ins("MOVQ R8, R9")
	f.ins("SHLQ $3, R9")          // 8*c: from one kx to the next
	f.ins("LEAQ (R8)(R8*8), R13") // one cols row, 9*c floats
	f.ins("TESTQ CX, CX")
	f.ins("JZ %s_done", name)
	f.ins("TESTQ R8, R8")
	f.ins("JZ %s_done", name)
	f.label(name + "_x")
	f.ins("XORQ AX, AX")
	f.label(name + "_j")
	f.ins("LEAQ (AX)(R9*1), R10")
	f.ins("LEAQ (R10)(R9*1), R11")
	f.ins("VMOVUPS (SI)(AX*1), Y0")
	f.ins("VMOVUPS (SI)(R10*1), Y1")
	f.ins("VMOVUPS (SI)(R11*1), Y2")
	for i, p := range []string{"DX", "BX"} {
		f.ins("CMPQ R12, $%d", i+2)
		f.ins("JB %s_sum", name)
		f.ins("VADDPS (%s)(AX*1), Y0, Y0", p)
		f.ins("VADDPS (%s)(R10*1), Y1, Y1", p)
		f.ins("VADDPS (%s)(R11*1), Y2, Y2", p)
	}
	f.label(name + "_sum")
	f.ins("VADDPS Y1, Y0, Y0")
	f.ins("VADDPS Y2, Y0, Y0")
	f.ins("VMOVUPS Y0, (DI)(AX*1)")
	f.ins("ADDQ $32, AX")
	f.ins("CMPQ AX, R8")
	f.ins("JB %s_j", name)
	f.ins("ADDQ R8, DI")
	f.ins("ADDQ R13, SI")
	f.ins("ADDQ R13, DX")
	f.ins("ADDQ R13, BX")
	f.ins("DECQ CX")
	f.ins("JNZ %s_x", name)
	f.label(name + "_done")
	f.ins("VZEROUPPER")
	f.ins("RET")
}
