package search

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSobolMatchesReference checks the typed-in direction numbers: the first
// 2^16 points of all 128 dimensions must equal an independent
// implementation's (testdata/sobol_reference.txt says which).
func TestSobolMatchesReference(t *testing.T) {
	f, err := os.Open("testdata/sobol_reference.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	dims := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 7 {
			t.Fatalf("bad reference line %q", line)
		}
		dim, _ := strconv.Atoi(fields[0])
		d := dim - 1
		buf := make([]byte, 4<<16)
		for i := range uint32(1 << 16) {
			binary.LittleEndian.PutUint32(buf[4*i:], sobolPoint(i, d))
		}
		sum := sha256.Sum256(buf)
		if got := hex.EncodeToString(sum[:]); got != fields[1] {
			t.Errorf("dimension %d: points hash %s, want %s", dim, got, fields[1])
		}
		for k, idx := range []uint32{1, 2, 3, 100, 65535} {
			want, _ := strconv.ParseUint(fields[2+k], 10, 32)
			if got := sobolPoint(idx, d); uint64(got) != want {
				t.Errorf("dimension %d point %d = %d, want %d", dim, idx, got, want)
			}
		}
		dims++
	}
	if dims != sobolDims {
		t.Fatalf("reference covers %d dimensions, table has %d", dims, sobolDims)
	}
}

// TestOwenScramblePreservesStratification checks the defining property of a
// (0, m, 2)-net that scrambling must keep: the first 2^m points of the first
// two dimensions put exactly one point in every elementary interval of
// volume 2^-m, here for every split of m = 8 into 2^-k x 2^-(m-k) boxes.
func TestOwenScramblePreservesStratification(t *testing.T) {
	const m = 8
	for _, seed := range []uint32{0, 1, 0xdeadbeef} {
		for k := 0; k <= m; k++ {
			seen := map[[2]uint32]bool{}
			for i := range uint32(1 << m) {
				x := owenScramble(sobolPoint(i, 0), seed)
				y := owenScramble(sobolPoint(i, 1), seed*7+1)
				box := [2]uint32{x >> (32 - k), y >> (32 - (m - k))} // a shift by 32 gives 0
				if seen[box] {
					t.Fatalf("seed %d, boxes 2^-%d x 2^-%d: two points in box %v", seed, k, m-k, box)
				}
				seen[box] = true
			}
		}
	}
}

// TestSobolCoversEvenly compares a 1-D projection of the sampler's output
// with the prior: the first 64 values of a float parameter fall one in each
// of 64 equal bins, which 64 random draws almost never do.
func TestSobolCoversEvenly(t *testing.T) {
	s, err := NewSpace([]Param{
		{Name: "a", Kind: Float, Low: 0, High: 1},
		{Name: "b", Kind: Float, Low: 0, High: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Suggest(Sobol{}, s, nil, Minimize, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		bins := make([]int, 64)
		for _, c := range got {
			bins[int(c[name].Float()*64)]++
		}
		for i, n := range bins {
			if n != 1 {
				t.Fatalf("%s: bin %d holds %d points, want 1 (bins %v)", name, i, n, bins)
			}
		}
	}
}

func TestSobolSeedChangesScramble(t *testing.T) {
	s, err := NewSpace([]Param{{Name: "a", Kind: Float, Low: 0, High: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a, _ := Sobol{Seed: 1}.Sample(s, nil, Minimize, rng)
	b, _ := Sobol{Seed: 2}.Sample(s, nil, Minimize, rand.New(rand.NewPCG(1, 2)))
	if a["a"].Equal(b["a"]) {
		t.Fatalf("seeds 1 and 2 give the same first point %v", a)
	}
}
