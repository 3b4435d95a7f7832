// Command benchcmp prints the kernels' comparison table: Sgemm GFLOP/s
// against OpenBLAS and gonum per shape, and activation ns/elem against a
// plain copy. It reads the output of `go test -bench` (BenchmarkSgemm,
// BenchmarkSgemmGonum, BenchmarkActivation, BenchmarkCopy) and of the
// OpenBLAS reference program sgemm_openblas.c; when a benchmark appears
// several times (-count, or several reference runs) the best run counts,
// as the reference program itself keeps the best of its repetitions.
//
// With -avx2, it also prints the activation table of a second run of
// BenchmarkActivation and BenchmarkCopy built with -tags noavx512 (the AVX2
// kernels on an AVX-512 CPU), and that path's exp-based target.
//
// Usage: go run ./scripts/benchcmp -go go.txt -openblas openblas.txt [-openblas more.txt] [-avx2 avx2.txt]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var goFiles, refFiles, avx2Files fileList
	flag.Var(&goFiles, "go", "output of go test -bench (repeatable)")
	flag.Var(&refFiles, "openblas", "output of sgemm_openblas (repeatable)")
	flag.Var(&avx2Files, "avx2", "output of go test -tags noavx512 -bench 'Benchmark(Activation|Copy)$' (repeatable)")
	flag.Parse()
	if err := run(os.Stdout, goFiles, refFiles, avx2Files...); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, goFiles, refFiles []string, avx2Files ...string) error {
	if len(goFiles) == 0 || len(refFiles) == 0 {
		return errors.New("need at least one -go and one -openblas file")
	}
	res := newResults()
	for _, name := range goFiles {
		if err := parseFile(name, res.addGo); err != nil {
			return err
		}
	}
	for _, name := range refFiles {
		if err := parseFile(name, res.addRef); err != nil {
			return err
		}
	}
	if err := res.print(w); err != nil {
		return err
	}
	if len(avx2Files) == 0 {
		return nil
	}
	avx2 := newResults()
	for _, name := range avx2Files {
		if err := parseFile(name, avx2.addGo); err != nil {
			return err
		}
	}
	if avx2.copyNs == 0 {
		return errors.New("no BenchmarkCopy result in the -avx2 output")
	}
	fmt.Fprintln(w)
	worst, name := avx2.printActivations(w, "AVX2 path (-tags noavx512)")
	fmt.Fprintf(w, "  AVX2 exp-based forward <= 5x relu:  %.2fx (%s, the slowest)  %s\n", worst, name, check(worst <= 5))
	return nil
}

func check(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func parseFile(name string, add func(line string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if err := add(sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

// results keeps the best figure of every benchmark: the highest GFLOP/s,
// the lowest ns/elem.
type results struct {
	shapes  []string // in the reference program's order
	ours    map[string]float64
	gonum   map[string]float64
	ref     map[string]float64
	refCore string
	act     map[string]float64 // "relu/forward" -> ns/elem
	actKeys []string
	copyNs  float64
}

func newResults() *results {
	return &results{ours: map[string]float64{}, gonum: map[string]float64{}, ref: map[string]float64{}, act: map[string]float64{}}
}

var (
	benchLine = regexp.MustCompile(`^Benchmark(\w+)/?(\S*?)(-\d+)?\s+\d+\s+.*?([\d.]+) (GFLOP/s|ns/elem)`)
	copyLine  = regexp.MustCompile(`^BenchmarkCopy(-\d+)?\s+\d+\s+.*?([\d.]+) ns/elem`)
	refLine   = regexp.MustCompile(`^sgemm (m=\d+,n=\d+,k=\d+,ta=[01],tb=[01]) ([\d.]+)$`)
)

func (r *results) addGo(line string) error {
	if m := copyLine.FindStringSubmatch(line); m != nil {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return err
		}
		if r.copyNs == 0 || v < r.copyNs {
			r.copyNs = v
		}
		return nil
	}
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return err
	}
	switch m[1] {
	case "Sgemm":
		r.ours[m[2]] = max(r.ours[m[2]], v)
	case "SgemmGonum":
		r.gonum[m[2]] = max(r.gonum[m[2]], v)
	case "Activation":
		old, ok := r.act[m[2]]
		if !ok {
			r.actKeys = append(r.actKeys, m[2])
		}
		if !ok || v < old {
			r.act[m[2]] = v
		}
	}
	return nil
}

func (r *results) addRef(line string) error {
	if core, ok := strings.CutPrefix(line, "# openblas "); ok {
		r.refCore = core
		return nil
	}
	m := refLine.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return err
	}
	if _, ok := r.ref[m[1]]; !ok {
		r.shapes = append(r.shapes, m[1])
	}
	r.ref[m[1]] = max(r.ref[m[1]], v)
	return nil
}

// isSquare reports whether a shape is one of the reference's squares; the
// others are the MLP training products.
func isSquare(shape string) bool {
	var m, n, k, ta, tb int
	fmt.Sscanf(shape, "m=%d,n=%d,k=%d,ta=%d,tb=%d", &m, &n, &k, &ta, &tb)
	return m == n && n == k
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// expBased lists the activations computed through exp (or erfc).
var expBased = map[string]bool{"elu": true, "selu": true, "swish": true, "gelu": true, "sigmoid": true, "tanh": true, "exp": true}

func (r *results) print(w io.Writer) error {
	if len(r.shapes) == 0 {
		return errors.New("no sgemm lines in the OpenBLAS output")
	}
	fmt.Fprintf(w, "Sgemm, one thread, GFLOP/s (best run of each; OpenBLAS %s)\n", r.refCore)
	fmt.Fprintf(w, "%-34s %8s %9s %7s %14s %11s\n", "shape", "ours", "OpenBLAS", "gonum", "ours/OpenBLAS", "ours/gonum")
	type group struct{ ours, ref, gonum, rRef, rGonum []float64 }
	var mlp, all group
	for _, s := range r.shapes {
		o, ok := r.ours[s]
		if !ok {
			return fmt.Errorf("no BenchmarkSgemm/%s result", s)
		}
		g, ref := r.gonum[s], r.ref[s]
		fmt.Fprintf(w, "%-34s %8.1f %9.1f %7.1f %14.2f %11.1f\n", s, o, ref, g, ratio(o, ref), ratio(o, g))
		for _, gr := range []*group{&all, &mlp} {
			if gr == &mlp && isSquare(s) {
				continue
			}
			gr.ours, gr.ref, gr.gonum = append(gr.ours, o), append(gr.ref, ref), append(gr.gonum, g)
			gr.rRef, gr.rGonum = append(gr.rRef, ratio(o, ref)), append(gr.rGonum, ratio(o, g))
		}
	}
	for _, x := range []struct {
		name string
		g    group
	}{{fmt.Sprintf("median, MLP shapes (%d)", len(mlp.ours)), mlp}, {fmt.Sprintf("median, all shapes (%d)", len(all.ours)), all}} {
		fmt.Fprintf(w, "%-34s %8.1f %9.1f %7.1f %14.2f %11.1f\n", x.name,
			median(x.g.ours), median(x.g.ref), median(x.g.gonum), median(x.g.rRef), median(x.g.rGonum))
	}
	fmt.Fprintln(w, "(ratio medians are medians of the per-shape ratios)")

	if r.copyNs == 0 {
		return errors.New("no BenchmarkCopy result")
	}
	fmt.Fprintln(w)
	worstExp, worstName := r.printActivations(w, "")
	relu := r.act["relu/forward"]

	fmt.Fprintln(w, "\nTargets (measured above, one thread):")
	mr, mg := median(mlp.rRef), median(mlp.rGonum)
	fmt.Fprintf(w, "  sgemm MLP median >= 0.85x OpenBLAS: %.2fx  %s\n", mr, check(mr >= 0.85))
	fmt.Fprintf(w, "  sgemm MLP median >= 10x gonum:      %.1fx  %s\n", mg, check(mg >= 10))
	rc := ratio(relu, r.copyNs)
	fmt.Fprintf(w, "  relu forward <= 1.5x copy:          %.2fx  %s\n", rc, check(rc <= 1.5))
	fmt.Fprintf(w, "  exp-based forward <= 5x relu:       %.2fx (%s, the slowest)  %s\n", worstExp, worstName, check(worstExp <= 5))
	return nil
}

// printActivations prints the activation table (label names the kernel
// path when not empty) and returns the largest forward/relu ratio of the
// exp-based activations, and which.
func (r *results) printActivations(w io.Writer, label string) (worst float64, worstName string) {
	relu := r.act["relu/forward"]
	if label != "" {
		label = ", " + label
	}
	fmt.Fprintf(w, "Activations over 1<<20 float32, ns/elem (best run%s); copy = %.4f ns/elem\n", label, r.copyNs)
	fmt.Fprintf(w, "%-12s %9s %9s %9s %9s\n", "activation", "forward", "backward", "fwd/copy", "fwd/relu")
	var names []string
	for _, k := range r.actKeys {
		name, _, _ := strings.Cut(k, "/")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		f, b := r.act[name+"/forward"], r.act[name+"/backward"]
		bs := "-"
		if b > 0 {
			bs = fmt.Sprintf("%.4f", b)
		}
		fmt.Fprintf(w, "%-12s %9.4f %9s %9.2f %9.2f\n", name, f, bs, ratio(f, r.copyNs), ratio(f, relu))
		if expBased[name] && name != "exp" && ratio(f, relu) > worst {
			worst, worstName = ratio(f, relu), name
		}
	}
	return worst, worstName
}
