package trainer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"regexp"
	"testing"
)

// csvErrorRE matches every error parseCSV may return for f.csv: each names
// the place and the fault, never the text found there.
var csvErrorRE = regexp.MustCompile(`^trainer: dataset: f\.csv: (` +
	`line \d+(, column \d+)?: (not a finite number|\d+ columns, want \d+|need at least one feature column and a label column|the label is not a class number in \[0, 1000\]|longer than \d+ bytes)` +
	`|more than \d+ values, which at 8 bytes each is over the \d+-byte limit \(RELUTUNE_MAX_DATASET_BYTES\)` +
	`|more than \d+ bytes once decompressed, the limit \(RELUTUNE_MAX_DATASET_BYTES\)` +
	`|(not a valid gzip file: )?(gzip: invalid header|unexpected EOF|flate: corrupt input before offset \d+|corrupt gzip file: its checksum or size does not match the data)` +
	`)$`)

// FuzzParseCSV: parseCSV never panics, returns only well-formed tables, and
// its errors never quote the file.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,label\n1,2,0\n3,4,1\n",
		"# comment\n\n1.5,-2e3,7\n",
		"1,2,0\n1,x,1\n",
		"1,2\n3\n",
		"1,2,1001\n",
		"x\ny\n",
		"1,NaN,0\n1,Inf,1\n",
		"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x03\x00\x00\x00\x00\x00\xff\xff\xff\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "f.csv"), data)
		l := newTestLoader(t, root, DataOptions{MaxFileBytes: 1 << 20})
		l.maxLine = 256
		tab, err := l.parseCSV("f.csv")
		if err != nil {
			if !errors.Is(err, ErrDataset) || !csvErrorRE.MatchString(err.Error()) {
				t.Fatalf("unexpected error %q", err)
			}
			return
		}
		if len(tab.labs) == 0 {
			return // only a header, comments or blank lines
		}
		if tab.cols < 2 || len(tab.feats) != len(tab.labs)*(tab.cols-1) {
			t.Fatalf("%d columns, %d values for %d rows", tab.cols, len(tab.feats), len(tab.labs))
		}
		for _, v := range tab.feats {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("value %v kept", v)
			}
		}
		for _, lab := range tab.labs {
			if lab < 0 || lab > maxLabel {
				t.Fatalf("label %d kept", lab)
			}
		}
		if _, err := splitCSV("csv:f.csv", tab, 1); err != nil && !errors.Is(err, ErrDataset) {
			t.Fatalf("splitCSV: %v", err)
		}
	})
}

// FuzzReadIDX reads data (gzipped first when gz) as an IDX image file and
// as a label file, and checks the result against a direct reading of the
// format.
func FuzzReadIDX(f *testing.F) {
	img := idxImages(3, 2, 2, 12)
	lab := []byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 0}
	f.Add(img, false)
	f.Add(img, true)
	f.Add(lab, false)
	f.Add(lab, true)
	f.Add(idxImages(1000, 28, 28, 4), true)
	f.Add(idxImages(3, 0, 2, 0), false)
	f.Add(img[:10], false)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		root := t.TempDir()
		file := data
		if gz {
			file = gzipBytes(t, data)
		}
		writeFile(t, filepath.Join(root, "f"), file)
		l := newTestLoader(t, root, DataOptions{MaxFileBytes: 1 << 20})
		direct := gz || !bytes.HasPrefix(data, []byte{0x1f, 0x8b})

		pix, h, w, err := l.readIDXImages(l.openUnderRoot, "f")
		var want []byte
		if len(data) >= 16 && binary.BigEndian.Uint32(data) == 0x803 {
			n, hh, ww := uint64(binary.BigEndian.Uint32(data[4:])), uint64(binary.BigEndian.Uint32(data[8:])), uint64(binary.BigEndian.Uint32(data[12:]))
			if hh >= 1 && ww >= 1 && hh <= maxImageSide && ww <= maxImageSide && uint64(len(data)-16) == n*hh*ww {
				want = data[16:]
			}
		}
		switch {
		case err != nil && !errors.Is(err, ErrDataset):
			t.Fatalf("images: error %v does not wrap ErrDataset", err)
		case !direct:
		case want == nil && err == nil:
			t.Fatalf("images: read %d pixels of %dx%d from a malformed file", len(pix), h, w)
		case want != nil && (err != nil || !bytes.Equal(pix, want) || uint64(h) != uint64(binary.BigEndian.Uint32(data[8:])) || uint64(w) != uint64(binary.BigEndian.Uint32(data[12:]))):
			t.Fatalf("images: got %d pixels of %dx%d, %v; want the file's %d", len(pix), h, w, err, len(want))
		}

		labs, err := l.readIDXLabels(l.openUnderRoot, "f")
		want = nil
		if len(data) >= 8 && binary.BigEndian.Uint32(data) == 0x801 && uint64(len(data)-8) == uint64(binary.BigEndian.Uint32(data[4:])) {
			want = data[8:]
		}
		switch {
		case err != nil && !errors.Is(err, ErrDataset):
			t.Fatalf("labels: error %v does not wrap ErrDataset", err)
		case !direct:
		case want == nil && err == nil:
			t.Fatalf("labels: read %d labels from a malformed file", len(labs))
		case want != nil && (err != nil || len(labs) != len(want)):
			t.Fatalf("labels: got %d, %v; want %d", len(labs), err, len(want))
		}
		for i := range min(len(labs), len(want)) {
			if labs[i] != int32(want[i]) {
				t.Fatalf("label %d: %d, want %d", i, labs[i], want[i])
			}
		}
	})
}
