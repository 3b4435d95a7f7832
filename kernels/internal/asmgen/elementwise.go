package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// ewKernel describes one element-wise kernel: a loop over n elements (a
// multiple of the vector width; the Go wrapper handles the tail) whose body
// loads one vector of each input, computes, and stores one vector.
type ewKernel struct {
	name    string
	doc     string
	out     string   // output pointer (may also be listed in ins), "" for reductions
	ins     []string // input pointers, loaded one vector each per step
	ints    []string // pointers among out/ins that point at int32
	scalars []string // float32 arguments, broadcast into registers
	ret     string   // "", "float32" or "float64"
	consts  []string // constants, most used first; those that fit live in registers
	temps   int      // scratch registers the body needs
	accs    int      // accumulators per unrolled step (reductions)
	unroll  int
	// unroll512, when set, replaces unroll on AVX-512.
	unroll512 int
	noLoad    bool // the body reads its inputs from memory itself
	// streams (AVX2 only): each unrolled step gets its own temporaries,
	// the body reads its inputs from memory and stores its output itself
	// (out is the memory operand), and the steps' instructions are
	// interleaved, so their dependency chains overlap. For the long chains
	// of the exp-based kernels, which otherwise fill the scheduler before
	// the next step's independent work is reached.
	streams bool
	// fastAVX2 (AVX2 streams only), when set, is tried first on each
	// unrolled step: it writes one stream's fast path, a head after which
	// t1 holds a value with none of the bits of the constant guard set
	// where the fast path is valid, the line fastGuardMark, and the rest.
	// A step where any stream's t1 has a guard bit runs body instead.
	// fastUnroll vectors at a time, fastTemps scratch registers each; the
	// fast path may keep only the first of consts in a register (e.cmem
	// gives the others' memory operands).
	fastAVX2   func(e *ew, in []string, out string)
	guard      string
	fastUnroll int
	fastTemps  int
	tables     []string // 32-entry lookup tables (AVX-512 only), kept in two registers each
	// consts512 and temps512, when set, replace consts and temps on AVX-512.
	consts512 []string
	temps512  int
	body      func(e *ew, in []string, out string, u int)
}

// ew is the state of one kernel being generated for one ISA.
type ew struct {
	f      *file
	s      *isa
	k      *ewKernel
	t      []string          // temporaries
	accReg []string          // accumulators, accs per unrolled step
	sc     map[string]string // scalar name -> register
	cst    map[string]string // constant name -> register or memory operand
	tab    map[string]string // table name -> register holding entries 0..15
	tabHi  map[string]string // table name -> register holding entries 16..31
}

// lookup sets dst = table[idx & 31] lane by lane (VPERMI2PS).
func (e *ew) lookup(dst, table, idx string) {
	e.ins("VMOVAPS %s, %s", idx, dst)
	e.ins("VPERMI2PS %s, %s, %s", e.tabHi[table], e.tab[table], dst)
}

func (e *ew) ins(format string, args ...any) { e.f.ins(format, args...) }

// c returns the operand of a constant: a register when one was free, else
// its memory operand (valid only where the instruction accepts memory).
func (e *ew) c(name string) string {
	op, ok := e.cst[name]
	if !ok {
		panic(fmt.Sprintf("%s: constant %s not declared", e.k.name, name))
	}
	return op
}

// cmem returns a constant's memory operand, wherever it lives, and
// registers its data.
func (e *ew) cmem(name string) string {
	if v, ok := constBits[name]; ok {
		return e.f.constantBits("k"+name, v)
	}
	if v, ok := constValues[name]; ok {
		return e.f.constant("k"+name, v)
	}
	panic(fmt.Sprintf("%s: unknown constant %s", e.k.name, name))
}

// cr returns a constant in a register, loading it into scratch if needed.
func (e *ew) cr(name, scratch string) string {
	op := e.c(name)
	if strings.HasSuffix(op, "(SB)") {
		e.ins("VMOVUPS %s, %s", op, scratch)
		return scratch
	}
	return op
}

func (e *ew) acc(u, j int) string { return e.accReg[u*e.k.accs+j] }

func (e *ew) is512() bool { return e.s == avx512 }

// constValues holds every constant the element-wise kernels use.
var constValues = map[string]float32{
	"one": 1, "two": 2, "half": 0.5, "mhalf": -0.5, "zero": 0,
	"exphi": 89, "explo": -110, "expm1lo": -87,
	"log2e": 1.44269504088896341, "magic": 12582912,
	"ln2hi": 0.693145751953125, "ln2lo": 1.428606765330187045e-06,
	// expm1(r) = r + r^2*P(r) for |r| <= ln2/2, P a degree-4 Chebyshev fit
	// of (exp(r)-1-r)/r^2 (error below 1e-8 relative to exp(r)).
	"p0": 0.00139261761199, "p1": 0.00836317307451, "p2": 0.0416665546621,
	"p3": 0.166665770256, "p4": 0.5,
	// Phi(-a) = exp(-a*a/2) * Q(t), t = 1/(1+a/(2*sqrt2)), Q a least-squares
	// fit (weighted for relative error, Lawson iterations) of degree 9 in t
	// over a in [0, gelumax]: relative error below 5e-8 in float64.
	"gq0": -2.336420906336795e-07, "gq1": 0.14104796535679157, "gq2": 0.14114640279115537,
	"gq3": 0.1217522745850072, "gq4": 0.10074143183872464, "gq5": -0.012150782274864587,
	"gq6": 0.13758926393761048, "gq7": -0.24248295557193686, "gq8": 0.14179867497632212,
	"gq9":        -0.0294420632480363,
	"geluc":      0.35355339059327373, // 1/(2*sqrt(2))
	"gelumax":    20,
	"gmax":       geluTableMax,
	"gidxmagic":  geluIdxMagic,
	"gexpmagic":  geluExpMagic,
	"ge1":        float32(geluE1),
	"ge2":        float32(geluE2),
	"gm2":        float32(-1 / (2 * math.Ln2)),
	"invsqrt2pi": 0.3989422804014327,
}

var constBits = map[string]uint32{
	"signmask": 0x80000000, "absmask": 0x7fffffff, "i127": 127, "ione": 1,
}

// The constants of the exp core, in the order of their use counts.
var expConsts = []string{"magic", "log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "one", "exphi", "explo", "i127"}

func genElementwise(f *file) {
	var wrappers bytes.Buffer
	for _, k := range ewKernels() {
		for _, s := range []*isa{avx512, avx2} {
			genEW(f, s, k)
		}
		genWrapper(&wrappers, k)
	}
	f.decls.WriteString("\n// The wrappers below run a kernel over a whole slice: full vectors in\n// assembly, and the tail through a vector-sized buffer so every element\n// goes through the same code.\n")
	f.decls.Write(wrappers.Bytes())
}

func (k *ewKernel) isInt(p string) bool {
	for _, q := range k.ints {
		if q == p {
			return true
		}
	}
	return false
}

// pointers returns the pointer arguments: out first, then the inputs.
func (k *ewKernel) pointers() []string {
	var ps []string
	if k.out != "" {
		ps = append(ps, k.out)
	}
	for _, p := range k.ins {
		if p != k.out {
			ps = append(ps, p)
		}
	}
	return ps
}

func (k *ewKernel) goSig() string {
	var args []string
	for _, p := range k.pointers() {
		t := "*float32"
		if k.isInt(p) {
			t = "*int32"
		}
		args = append(args, p+" "+t)
	}
	args = append(args, "n int")
	for _, s := range k.scalars {
		args = append(args, s+" float32")
	}
	sig := "(" + strings.Join(args, ", ") + ")"
	if k.ret != "" {
		sig += " " + k.ret
	}
	return sig
}

func genEW(f *file, s *isa, k *ewKernel) {
	name := k.name + s.name
	f.decl(fmt.Sprintf("%s is %s for n a multiple of %d.", name, k.doc, s.w), name+k.goSig())

	ptrRegs := []string{"DI", "SI", "R8", "R9", "R10", "R11"}
	ptrs := k.pointers()
	off := 0
	ptrReg := map[string]string{}
	f.printf("\n// func %s%s\n", name, k.goSig())
	argSize := 8*len(ptrs) + 8 + 4*len(k.scalars)
	retOff := (argSize + 7) &^ 7
	frame := argSize
	switch k.ret {
	case "float32":
		frame = retOff + 4
	case "float64":
		frame = retOff + 8
	}
	f.printf("TEXT ·%s(SB), NOSPLIT, $0-%d\n", name, frame)
	for i, p := range ptrs {
		ptrReg[p] = ptrRegs[i]
		f.ins("MOVQ %s+%d(FP), %s", p, off, ptrRegs[i])
		off += 8
	}
	f.ins("MOVQ n+%d(FP), CX", off)
	off += 8

	e := &ew{f: f, s: s, k: k, sc: map[string]string{}, cst: map[string]string{}, tab: map[string]string{}, tabHi: map[string]string{}}
	next := 0
	alloc := func() string {
		if next >= s.nregs {
			panic(fmt.Sprintf("%s%s: out of vector registers", k.name, s.name))
		}
		r := s.vreg(next)
		next++
		return r
	}
	streams := k.streams && s == avx2
	var inRegs []string
	if !k.noLoad && !streams {
		for range k.ins {
			inRegs = append(inRegs, alloc())
		}
	}
	outReg := ""
	if k.out != "" && !streams {
		outReg = alloc()
	}
	temps := k.temps
	if s == avx512 && k.temps512 != 0 {
		temps = k.temps512
	}
	var streamTemps [][]string
	if streams {
		for range k.unroll {
			var ts []string
			for range temps {
				ts = append(ts, alloc())
			}
			streamTemps = append(streamTemps, ts)
		}
	} else {
		for range temps {
			e.t = append(e.t, alloc())
		}
	}
	for range k.accs * k.unroll {
		e.accReg = append(e.accReg, alloc())
	}
	for _, sc := range k.scalars {
		r := alloc()
		e.sc[sc] = r
		f.ins("VBROADCASTSS %s+%d(FP), %s", sc, off, r)
		off += 4
	}
	if s == avx512 {
		tabs := geluTables()
		for _, name := range k.tables {
			vals := tabs[name]
			f.table(name, vals[:])
			lo, hi := alloc(), alloc()
			f.ins("VMOVUPS %s<>+0(SB), %s", name, lo)
			f.ins("VMOVUPS %s<>+64(SB), %s", name, hi)
			e.tab[name], e.tabHi[name] = lo, hi
		}
	}
	consts := k.consts
	if s == avx512 && k.consts512 != nil {
		consts = k.consts512
	}
	for _, c := range consts {
		var mem string
		if _, dup := e.cst[c]; dup {
			panic(fmt.Sprintf("%s: constant %s listed twice", k.name, c))
		}
		mem = e.cmem(c)
		if next < s.nregs {
			r := alloc()
			f.ins("VMOVUPS %s, %s", mem, r)
			e.cst[c] = r
		} else {
			e.cst[c] = mem
		}
	}
	for _, a := range e.accReg {
		f.ins("VXORPS %s, %s, %s", yview(s, a), yview(s, a), yview(s, a))
	}

	step := func(u, base int) {
		in := make([]string, len(k.ins))
		for j, p := range k.ins {
			mem := fmt.Sprintf("%d(%s)", base, ptrReg[p])
			if k.noLoad {
				in[j] = mem
			} else {
				f.ins("VMOVUPS %s, %s", mem, inRegs[j])
				in[j] = inRegs[j]
			}
		}
		k.body(e, in, outReg, u)
		if k.out != "" {
			f.ins("VMOVUPS %s, %d(%s)", outReg, base, ptrReg[k.out])
		}
	}
	advance := func(elems int) {
		for _, p := range ptrs {
			f.ins("ADDQ $%d, %s", elems*4, ptrReg[p])
		}
		f.ins("SUBQ $%d, CX", elems)
	}
	// streamOps are a stream's memory operands at byte offset base: its
	// inputs and its output.
	streamOps := func(base int) ([]string, string) {
		in := make([]string, len(k.ins))
		for j, p := range k.ins {
			in[j] = fmt.Sprintf("%d(%s)", base, ptrReg[p])
		}
		return in, fmt.Sprintf("%d(%s)", base, ptrReg[k.out])
	}
	if streams {
		// The body sees memory operands and stores its own result.
		step = func(u, base int) {
			in, out := streamOps(base)
			e.t = streamTemps[u]
			k.body(e, in, out, u)
		}
	}
	U := k.unroll
	if s == avx512 && k.unroll512 != 0 {
		U = k.unroll512
	}
	if streams && k.fastAVX2 != nil {
		// The fast path's steps of k.fastUnroll vectors, in every register
		// but the first constant's; a step that fails the guard runs body
		// on the same vectors, U at a time and then one by one, after
		// reloading the constants the fast path overwrote.
		FU := k.fastUnroll
		keep := e.c(consts[0])
		var free []string
		for i := 0; i < s.nregs; i++ {
			if r := s.vreg(i); r != keep {
				free = append(free, r)
			}
		}
		if len(free) < FU*k.fastTemps {
			panic(k.name + ": not enough registers for the fast path")
		}
		var fastTemps [][]string
		for u := range FU {
			fastTemps = append(fastTemps, free[u*k.fastTemps:(u+1)*k.fastTemps])
		}
		reload := func() {
			for _, c := range consts[1:] {
				if op := e.c(c); !strings.HasSuffix(op, "(SB)") {
					f.ins("VMOVUPS %s, %s", e.cmem(c), op)
				}
			}
		}
		f.label(name + "_loopF")
		f.ins("CMPQ CX, $%d", FU*s.w)
		f.ins("JB %s_tail", name)
		fastStep(f, e, k, fastTemps, name, func(u int) {
			in, out := streamOps(u * s.bytes)
			e.t = fastTemps[u]
			k.fastAVX2(e, in, out)
		})
		advance(FU * s.w)
		f.ins("JMP %s_loopF", name)
		f.label(name + "_slowF")
		reload()
		done := 0
		for ; done+U <= FU; done += U {
			interleave(f, U, func(u int) { step(u, (done+u)*s.bytes) })
		}
		for ; done < FU; done++ {
			step(0, done*s.bytes)
		}
		advance(FU * s.w)
		f.ins("JMP %s_loopF", name)
		f.label(name + "_tail")
		reload()
		U = 1 // the rest, one vector at a time
	}
	if U > 1 {
		f.label(name + "_loopU")
		f.ins("CMPQ CX, $%d", U*s.w)
		f.ins("JB %s_loop1", name)
		if streams {
			interleave(f, U, func(u int) { step(u, u*s.bytes) })
		} else {
			for u := 0; u < U; u++ {
				step(u, u*s.bytes)
			}
		}
		advance(U * s.w)
		f.ins("JMP %s_loopU", name)
	}
	f.label(name + "_loop1")
	f.ins("CMPQ CX, $%d", s.w)
	f.ins("JB %s_done", name)
	step(0, 0)
	advance(s.w)
	f.ins("JMP %s_loop1", name)
	f.label(name + "_done")

	switch k.ret {
	case "float32":
		reduce32(e, retOff)
	case "float64":
		reduce64(e, retOff)
	}
	f.ins("VZEROUPPER")
	f.ins("RET")
}

// yview returns the 256-bit name of a vector register, for VEX instructions
// that clear the whole register.
func yview(s *isa, r string) string {
	if s == avx512 {
		return "Y" + r[1:]
	}
	return r
}

func xview(r string) string { return "X" + r[1:] }

// reduce32 sums every accumulator's float32 lanes into ret.
func reduce32(e *ew, retOff int) {
	a := e.accReg
	for i := 1; i < len(a); i++ {
		e.ins("VADDPS %s, %s, %s", a[i], a[0], a[0])
	}
	y0, y1 := yview(e.s, a[0]), "Y"+e.t[0][1:]
	if e.is512() {
		e.ins("VEXTRACTF32X8 $1, %s, %s", a[0], y1)
		e.ins("VADDPS %s, %s, %s", y1, y0, y0)
	}
	x0, x1 := xview(a[0]), xview(e.t[0])
	e.ins("VEXTRACTF128 $1, %s, %s", y0, x1)
	e.ins("VADDPS %s, %s, %s", x1, x0, x0)
	e.ins("VPERMILPS $0x4E, %s, %s", x0, x1)
	e.ins("VADDPS %s, %s, %s", x1, x0, x0)
	e.ins("VPERMILPS $0xB1, %s, %s", x0, x1)
	e.ins("VADDSS %s, %s, %s", x1, x0, x0)
	e.ins("VMOVSS %s, ret+%d(FP)", x0, retOff)
}

// reduce64 sums every accumulator's float64 lanes into ret.
func reduce64(e *ew, retOff int) {
	a := e.accReg
	for i := 1; i < len(a); i++ {
		e.ins("VADDPD %s, %s, %s", a[i], a[0], a[0])
	}
	y0, y1 := yview(e.s, a[0]), "Y"+e.t[0][1:]
	if e.is512() {
		e.ins("VEXTRACTF64X4 $1, %s, %s", a[0], y1)
		e.ins("VADDPD %s, %s, %s", y1, y0, y0)
	}
	x0, x1 := xview(a[0]), xview(e.t[0])
	e.ins("VEXTRACTF128 $1, %s, %s", y0, x1)
	e.ins("VADDPD %s, %s, %s", x1, x0, x0)
	e.ins("VPERMILPD $1, %s, %s", x0, x1)
	e.ins("VADDSD %s, %s, %s", x1, x0, x0)
	e.ins("VMOVSD %s, ret+%d(FP)", x0, retOff)
}

// genWrapper writes the Go function that runs kernel k over whole slices.
func genWrapper(w *bytes.Buffer, k *ewKernel) {
	ptrs := k.pointers()
	var params []string
	for _, p := range ptrs {
		t := "[]float32"
		if k.isInt(p) {
			t = "[]int32"
		}
		params = append(params, p+" "+t)
	}
	for _, s := range k.scalars {
		params = append(params, s+" float32")
	}
	ret := ""
	if k.ret != "" {
		ret = " " + k.ret
	}
	fmt.Fprintf(w, "\n// %sSIMD is %s over whole slices, which must have the length of %s.\n", k.name, k.doc, ptrs[len(ptrs)-1])
	fmt.Fprintf(w, "func %sSIMD(%s)%s {\n", k.name, strings.Join(params, ", "), ret)
	last := ptrs[len(ptrs)-1]
	fmt.Fprintf(w, "n := len(%s)\nw := 8\nif useAVX512 {\nw = 16\n}\nm := n - n%%w\n", last)
	call := func(args []string, count string) string {
		all := append(append([]string{}, args...), count)
		all = append(all, k.scalars...)
		return fmt.Sprintf("if useAVX512 {\n%s%s(%s)\n} else {\n%s%s(%s)\n}\n",
			assign(k), k.name+"AVX512", strings.Join(all, ", "), assign(k), k.name+"AVX2", strings.Join(all, ", "))
	}
	if k.ret != "" {
		fmt.Fprintf(w, "var r %s\n", k.ret)
	}
	var mainArgs []string
	for _, p := range ptrs {
		mainArgs = append(mainArgs, "&"+p+"[0]")
	}
	fmt.Fprintf(w, "if m > 0 {\n%s}\n", call(mainArgs, "m"))
	fmt.Fprintf(w, "if m < n {\n")
	var tailArgs []string
	for _, p := range ptrs {
		t := "float32"
		if k.isInt(p) {
			t = "int32"
		}
		fmt.Fprintf(w, "var b%s [16]%s\n", p, t)
		if p != k.out || contains(k.ins, p) {
			fmt.Fprintf(w, "copy(b%s[:], %s[m:])\n", p, p)
		}
		tailArgs = append(tailArgs, "&b"+p+"[0]")
	}
	if k.ret != "" {
		fmt.Fprintf(w, "r0 := r\n")
	}
	fmt.Fprint(w, call(tailArgs, "w"))
	if k.ret != "" {
		fmt.Fprintf(w, "r += r0\n")
	}
	if k.out != "" {
		fmt.Fprintf(w, "copy(%s[m:], b%s[:n-m])\n", k.out, k.out)
	}
	fmt.Fprintf(w, "}\n")
	if k.ret != "" {
		fmt.Fprintf(w, "return r\n")
	}
	fmt.Fprintf(w, "}\n")
}

func assign(k *ewKernel) string {
	if k.ret != "" {
		return "r = "
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// fastGuardMark separates a fast path's head from its rest (ewKernel.fastAVX2).
const fastGuardMark = "// guard"

// fastStep writes an unrolled step of k's fast path, gen(u) writing stream
// u's: the streams' heads interleaved, the guard (to name_slowF when any
// stream's t1 has a bit of k.guard), then the rest interleaved.
func fastStep(f *file, e *ew, k *ewKernel, temps [][]string, name string, gen func(u int)) {
	var heads, tails [][]string
	for _, text := range captureStreams(f, len(temps), gen) {
		head, tail, ok := strings.Cut(text, fastGuardMark+"\n")
		if !ok {
			panic(k.name + ": fast path without the guard mark")
		}
		heads = append(heads, lines(head))
		tails = append(tails, lines(tail))
	}
	writeInterleaved(f, heads)
	acc := temps[0][2]
	f.ins("VPOR %s, %s, %s", temps[0][1], temps[1][1], acc)
	for _, t := range temps[2:] {
		f.ins("VPOR %s, %s, %s", t[1], acc, acc)
	}
	f.ins("VPTEST %s, %s", e.cmem(k.guard), acc)
	f.ins("JNZ %s_slowF", name)
	writeInterleaved(f, tails)
}

// captureStreams returns the text gen(u) writes for each of n streams,
// leaving f's text as it was.
func captureStreams(f *file, n int, gen func(u int)) []string {
	saved := f.text
	texts := make([]string, n)
	for u := range texts {
		f.text = bytes.Buffer{}
		gen(u)
		texts[u] = f.text.String()
	}
	f.text = saved
	return texts
}

// lines splits instruction text into its lines, each with its newline.
func lines(text string) []string {
	return strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
}

// writeInterleaved writes the streams' lines round-robin.
func writeInterleaved(f *file, lines [][]string) {
	for i := 0; ; i++ {
		done := true
		for _, ls := range lines {
			if i < len(ls) {
				done = false
				f.text.WriteString(strings.TrimSuffix(ls[i], "\n") + "\n")
			}
		}
		if done {
			return
		}
	}
}

// interleave writes the instructions of n independent streams, each
// generated by gen(u), round-robin one instruction at a time.
func interleave(f *file, n int, gen func(u int)) {
	var ls [][]string
	for _, text := range captureStreams(f, n, gen) {
		ls = append(ls, lines(text))
	}
	writeInterleaved(f, ls)
}
