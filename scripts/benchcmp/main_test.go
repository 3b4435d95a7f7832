package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goOut = `goos: linux
BenchmarkSgemm/m=64,n=64,k=64,ta=0,tb=0         	   34692	     11932 ns/op	        40.00 GFLOP/s	       0 B/op	       0 allocs/op
BenchmarkSgemm/m=64,n=64,k=64,ta=0,tb=0         	   34692	     11932 ns/op	        50.00 GFLOP/s	       0 B/op	       0 allocs/op
BenchmarkSgemm/m=128,n=10,k=128,ta=1,tb=0-2     	   15772	     15564 ns/op	        90.00 GFLOP/s	       0 B/op	       0 allocs/op
BenchmarkSgemm/m=128,n=256,k=128,ta=0,tb=1      	    1263	    202641 ns/op	       100.0 GFLOP/s	       0 B/op	       0 allocs/op
BenchmarkSgemmGonum/m=64,n=64,k=64,ta=0,tb=0    	    2834	     80169 ns/op	         5.000 GFLOP/s
BenchmarkSgemmGonum/m=128,n=10,k=128,ta=1,tb=0  	    2834	     80169 ns/op	         3.000 GFLOP/s
BenchmarkSgemmGonum/m=128,n=256,k=128,ta=0,tb=1 	    2834	     80169 ns/op	        10.00 GFLOP/s
BenchmarkActivation/relu/forward                	     1	    1 ns/op	         0.1000 ns/elem
BenchmarkActivation/relu/forward                	     1	    1 ns/op	         0.0800 ns/elem
BenchmarkActivation/relu/backward               	     1	    1 ns/op	         0.2000 ns/elem
BenchmarkActivation/gelu/forward                	     1	    1 ns/op	         0.6000 ns/elem
BenchmarkCopy                                   	     1	    1 ns/op	         0.1600 ns/elem
PASS
`

const refOut = `# openblas core=Cooperlake threads=1
sgemm m=64,n=64,k=64,ta=0,tb=0 100.0
sgemm m=128,n=10,k=128,ta=1,tb=0 90.0
sgemm m=128,n=256,k=128,ta=0,tb=1 80.0
`

func TestRunTable(t *testing.T) {
	dir := t.TempDir()
	g, r := filepath.Join(dir, "go.txt"), filepath.Join(dir, "ref.txt")
	if err := os.WriteFile(g, []byte(goOut), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r, []byte(refOut), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, []string{g}, []string{r}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		// best of the two runs, with the reference's figure and ratios
		"m=64,n=64,k=64,ta=0,tb=0               50.0     100.0     5.0           0.50        10.0",
		// a -N GOMAXPROCS suffix is not part of the name
		"m=128,n=10,k=128,ta=1,tb=0             90.0      90.0     3.0           1.00        30.0",
		// MLP median: shapes 2 and 3 only (the square is left out): ratios 1.00 and 1.25
		"median, MLP shapes (2)                 95.0      85.0     6.5           1.12        20.0",
		"copy = 0.1600 ns/elem",
		"relu            0.0800    0.2000      0.50      1.00",
		"gelu            0.6000         -      3.75      7.50",
		"sgemm MLP median >= 0.85x OpenBLAS: 1.12x  met",
		"exp-based forward <= 5x relu:       7.50x (gelu, the slowest)  NOT met",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
}

func TestRunMissingShape(t *testing.T) {
	dir := t.TempDir()
	g, r := filepath.Join(dir, "go.txt"), filepath.Join(dir, "ref.txt")
	if err := os.WriteFile(g, []byte("BenchmarkCopy 1 1 ns/op 0.1 ns/elem\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r, []byte(refOut), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(new(bytes.Buffer), []string{g}, []string{r})
	if err == nil || !strings.Contains(err.Error(), "BenchmarkSgemm/m=64,n=64,k=64,ta=0,tb=0") {
		t.Fatalf("err = %v, want one naming the missing benchmark", err)
	}
}
