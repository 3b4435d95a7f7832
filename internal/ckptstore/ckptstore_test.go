package ckptstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/natstest"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name string
		want Key
		ok   bool
	}{
		{"ckpt/s1/0/a0001-e0001", Key{"s1", 0, 1, 1}, true},
		{"ckpt/relu-mnist/12/a0003-e0020", Key{"relu-mnist", 12, 3, 20}, true},
		{"ckpt/s1/0/a0001-e0000", Key{}, false},  // epochs start at 1
		{"ckpt/s1/0/a1-e1", Key{}, false},        // not canonical
		{"ckpt/s1/01/a0001-e0001", Key{}, false}, // not canonical
		{"ckpt/S1/0/a0001-e0001", Key{}, false},  // not a study name
		{"ckpt/s1/-1/a0001-e0001", Key{}, false},
		{"ckpt/s1/0/a0001-e0001/x", Key{}, false},
		{"model/s1/0", Key{}, false},
		{"", Key{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseName(tt.name)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseName(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRefRoundTrip(t *testing.T) {
	k := Key{Study: "s", Trial: 4, Attempt: 2, Epoch: 7}
	ref := Ref("bkt", k)
	if ref != "nats-object://bkt/ckpt/s/4/a0002-e0007" {
		t.Fatalf("Ref = %q", ref)
	}
	b, got, ok := ParseRef(ref)
	if !ok || b != "bkt" || got != k {
		t.Fatalf("ParseRef(%q) = %q, %+v, %v", ref, b, got, ok)
	}
	for _, bad := range []string{"/tmp/x/epoch-0001.ckpt", "nats-object://bkt", "nats-object://b.k/ckpt/s/4/a0002-e0007", "nats-object://bkt/model/s/4"} {
		if _, _, ok := ParseRef(bad); ok {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Bucket: "a.b"}, {Replicas: 6}, {Replicas: -1}, {Bucket: "x y"}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

func newStore(t *testing.T) (*Store, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(js, Config{Bucket: "test-ckpt"})
	if err != nil {
		t.Fatal(err)
	}
	return s, js
}

func TestCheckpointsNewestFirstAndDeleteTrial(t *testing.T) {
	s, _ := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys := []Key{
		{"st", 1, 1, 1}, {"st", 1, 1, 2}, {"st", 1, 2, 2}, {"st", 1, 2, 3},
		{"st", 2, 1, 9},  // another trial
		{"st2", 1, 1, 9}, // another study
	}
	for i, k := range keys {
		if _, err := s.Put(ctx, k, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Checkpoints(ctx, "st", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{{"st", 1, 2, 3}, {"st", 1, 2, 2}, {"st", 1, 1, 2}, {"st", 1, 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("Checkpoints = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Checkpoints = %+v, want %+v", got, want)
		}
	}
	data, err := s.Get(ctx, got[0])
	if err != nil || !bytes.Equal(data, []byte{3}) {
		t.Fatalf("Get = %v, %v; want [3]", data, err)
	}
	n, err := s.DeleteTrial(ctx, "st", 1)
	if err != nil || n != 4 {
		t.Fatalf("DeleteTrial = %d, %v; want 4", n, err)
	}
	if left, _ := s.Checkpoints(ctx, "st", 1); len(left) != 0 {
		t.Fatalf("left after DeleteTrial: %+v", left)
	}
	if left, _ := s.Checkpoints(ctx, "st", 2); len(left) != 1 {
		t.Fatalf("another trial's checkpoints went too: %+v", left)
	}
	if _, err := s.Get(ctx, Key{"st", 1, 1, 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, Key{"st", 1, 1, 1}); err != nil {
		t.Fatalf("Delete of a missing checkpoint: %v", err)
	}
}

func TestKeepBestModels(t *testing.T) {
	s, _ := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for trial, v := range []float64{0.5, 0.9, 0.7, 0.9, 0.1} {
		if err := s.PutModel(ctx, Model{Study: "st", Trial: trial, Objective: v}, []byte{byte(trial)}); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.KeepBestModels(ctx, "st", 3, true)
	if err != nil || removed != 2 {
		t.Fatalf("KeepBestModels = %d, %v; want 2 removed", removed, err)
	}
	ms, err := s.Models(ctx, "st", true)
	if err != nil {
		t.Fatal(err)
	}
	var trials []int
	for _, m := range ms {
		trials = append(trials, m.Trial)
	}
	if len(trials) != 3 || trials[0] != 1 || trials[1] != 3 || trials[2] != 2 {
		t.Fatalf("kept trials %v, want [1 3 2]", trials)
	}
	data, err := s.GetModel(ctx, "st", 3)
	if err != nil || !bytes.Equal(data, []byte{3}) {
		t.Fatalf("GetModel = %v, %v", data, err)
	}
	if _, err := s.GetModel(ctx, "st", 4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetModel of a removed model = %v, want ErrNotFound", err)
	}
	// minimize keeps the lowest.
	if _, err := s.KeepBestModels(ctx, "st", 1, false); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.Models(ctx, "st", false); len(ms) != 1 || ms[0].Trial != 2 {
		t.Fatalf("minimize kept %+v, want trial 2", ms)
	}
	if err := s.PutModel(ctx, Model{Study: "st", Trial: 1, Objective: nan()}, nil); err == nil {
		t.Fatal("PutModel accepted a NaN objective")
	}
}

func nan() float64 { var z float64; return z / z }

// TestUnavailableBucketFailsWithoutHanging: with NATS gone, every call
// returns an error by its context's deadline.
func TestUnavailableBucketFailsWithoutHanging(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.URL, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, _ := New(js, Config{})
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := s.Put(ctx, Key{"st", 0, 1, 1}, []byte("x")); err == nil {
		t.Fatal("Put succeeded without NATS")
	}
	if _, err := s.Checkpoints(ctx, "st", 0); err == nil {
		t.Fatal("Checkpoints succeeded without NATS")
	}
}

// BenchmarkPut stores checkpoint-sized objects (0.8 MB: the spirals MLP
// [256, 256] with Adam; 2.8 MB: the MNIST MLP [256, 128]) in a bucket on
// a private nats-server with file storage, and replaces each with the
// next, as a running trial does every epoch.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{800 << 10, 2800 << 10} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			srv := natstest.Start(b)
			nc, err := nats.Connect(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			s, _ := New(js, Config{Bucket: "bench"})
			ctx := context.Background()
			data := bytes.Repeat([]byte{0xa5}, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				k := Key{Study: "bench", Trial: 0, Attempt: 1, Epoch: i + 1}
				if _, err := s.Put(ctx, k, data); err != nil {
					b.Fatal(err)
				}
				if i > 0 {
					if err := s.Delete(ctx, Key{Study: "bench", Trial: 0, Attempt: 1, Epoch: i}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
