//go:build !noasm

#include "textflag.h"

// func adamAVX512(w, grad, m, v *float32, n int, c *adamConsts)
// n is a multiple of 16. Same operation order as adamStepGeneric, without
// fused multiply-adds, so the results are identical.
TEXT ·adamAVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Z10  // b1
	VBROADCASTSS 4(AX), Z11  // 1-b1
	VBROADCASTSS 8(AX), Z12  // b2
	VBROADCASTSS 12(AX), Z13 // 1-b2
	VBROADCASTSS 16(AX), Z14 // eps
	VBROADCASTSS 20(AX), Z15 // stepSize
	VBROADCASTSS 24(AX), Z9  // invSqrtBC2
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Z0   // g
	VMOVUPS (DX)(BX*4), Z1   // m
	VMOVUPS (R8)(BX*4), Z2   // v
	VMOVUPS (DI)(BX*4), Z3   // w
	VMULPS  Z10, Z1, Z1      // b1*m
	VMULPS  Z11, Z0, Z4      // (1-b1)*g
	VADDPS  Z4, Z1, Z1       // m' = b1*m + (1-b1)*g
	VMULPS  Z12, Z2, Z2      // b2*v
	VMULPS  Z13, Z0, Z5      // (1-b2)*g
	VMULPS  Z0, Z5, Z5       // ((1-b2)*g)*g
	VADDPS  Z5, Z2, Z2       // v' = b2*v + (1-b2)*g*g
	VMOVUPS Z1, (DX)(BX*4)
	VMOVUPS Z2, (R8)(BX*4)
	VSQRTPS Z2, Z6           // sqrt(v')
	VMULPS  Z9, Z6, Z6       // *invSqrtBC2
	VADDPS  Z14, Z6, Z6      // d = sqrt(v')*invSqrtBC2 + eps
	VMULPS  Z15, Z1, Z7      // stepSize*m'
	VDIVPS  Z6, Z7, Z7       // (stepSize*m')/d
	VSUBPS  Z7, Z3, Z3       // w - ...
	VMOVUPS Z3, (DI)(BX*4)
	ADDQ    $16, BX
	JMP     loop

done:
	VZEROUPPER
	RET

// func adamAVX(w, grad, m, v *float32, n int, c *adamConsts)
// n is a multiple of 8; the AVX (ymm) twin of adamAVX512.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y10
	VBROADCASTSS 4(AX), Y11
	VBROADCASTSS 8(AX), Y12
	VBROADCASTSS 12(AX), Y13
	VBROADCASTSS 16(AX), Y14
	VBROADCASTSS 20(AX), Y15
	VBROADCASTSS 24(AX), Y9
	XORQ BX, BX

loopy:
	CMPQ BX, CX
	JGE  doney
	VMOVUPS (SI)(BX*4), Y0
	VMOVUPS (DX)(BX*4), Y1
	VMOVUPS (R8)(BX*4), Y2
	VMOVUPS (DI)(BX*4), Y3
	VMULPS  Y10, Y1, Y1
	VMULPS  Y11, Y0, Y4
	VADDPS  Y4, Y1, Y1
	VMULPS  Y12, Y2, Y2
	VMULPS  Y13, Y0, Y5
	VMULPS  Y0, Y5, Y5
	VADDPS  Y5, Y2, Y2
	VMOVUPS Y1, (DX)(BX*4)
	VMOVUPS Y2, (R8)(BX*4)
	VSQRTPS Y2, Y6
	VMULPS  Y9, Y6, Y6
	VADDPS  Y14, Y6, Y6
	VMULPS  Y15, Y1, Y7
	VDIVPS  Y6, Y7, Y7
	VSUBPS  Y7, Y3, Y3
	VMOVUPS Y3, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loopy

doney:
	VZEROUPPER
	RET
