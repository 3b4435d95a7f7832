package dashboard

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// TestVendoredEChartsChecksum fails when the embedded ECharts differs from
// the file whose checksum assets/echarts/SHA256SUMS records, and when its
// licence is missing.
func TestVendoredEChartsChecksum(t *testing.T) {
	sums, err := fs.ReadFile(assets, "echarts/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q: want \"<sha256>  <file>\"", sc.Text())
		}
		b, err := fs.ReadFile(assets, "echarts/"+name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("echarts/%s: sha256 %s, want %s", name, got, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("SHA256SUMS lists no file")
	}
	lic, err := fs.ReadFile(assets, "echarts/LICENSE")
	if err != nil || !strings.Contains(string(lic), "Apache License") {
		t.Errorf("echarts/LICENSE missing or not the Apache licence: %v", err)
	}
	if js := asset("echarts/echarts.min.js"); !strings.Contains(string(js), EChartsVersion) {
		t.Errorf("echarts.min.js does not mention version %s", EChartsVersion)
	}
}
