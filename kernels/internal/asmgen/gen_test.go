package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesUpToDate fails when the committed assembly of package
// kernels differs from what the generator writes now: run go generate.
func TestGeneratedFilesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sgemm_amd64.s", "elementwise_amd64.s", "asm_decl_amd64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("kernels/%s is stale: run go generate ./kernels/", name)
		}
	}
}

// TestGeluTablesFit checks the piecewise fit of log Phi(-a) the AVX-512
// GELU uses, in float64 with the float32 coefficients, against math.
func TestGeluTablesFit(t *testing.T) {
	tabs := geluTables()
	worst := 0.0
	for i := 0; i <= 100000; i++ {
		a := geluTableMax * float64(i) / 100000
		tt := a * geluScale
		k := int(tt + 0.5)
		u := tt - float64(k)
		p := float64(tabs["gc4"][k])
		for _, c := range []string{"gc3", "gc2", "gc1", "gd0"} {
			p = p*u + float64(tabs[c][k])
		}
		got := float64(tabs["gc0"][k]) + p
		worst = max(worst, abs(got-logPhiNeg(a)))
	}
	if worst > 3e-7 {
		t.Fatalf("max error of the tables %.3g, want <= 3e-7", worst)
	}
	t.Logf("max absolute error of log Phi(-a) from the tables: %.3g", worst)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
