package worker

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/natstest"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/workflows"
)

// memStore is an in-memory CheckpointStore with faults to inject.
type memStore struct {
	mu      sync.Mutex
	objs    map[string][]byte
	models  map[int]float64
	corrupt map[ckptstore.Key]bool // Get answers ErrCorrupt
	down    bool                   // every call fails, as with NATS away
}

var errDown = errors.New("nats: no servers available for connection")

func newMemStore() *memStore {
	return &memStore{objs: map[string][]byte{}, models: map[int]float64{}, corrupt: map[ckptstore.Key]bool{}}
}

func (s *memStore) Bucket() string { return "mem" }

func (s *memStore) Put(_ context.Context, k ckptstore.Key, data []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return "", errDown
	}
	s.objs[k.Name()] = append([]byte(nil), data...)
	return ckptstore.Ref(s.Bucket(), k), nil
}

func (s *memStore) Get(_ context.Context, k ckptstore.Key) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errDown
	}
	if s.corrupt[k] {
		return nil, ckptstore.ErrCorrupt
	}
	b, ok := s.objs[k.Name()]
	if !ok {
		return nil, ckptstore.ErrNotFound
	}
	return b, nil
}

func (s *memStore) Delete(_ context.Context, k ckptstore.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	delete(s.objs, k.Name())
	return nil
}

func (s *memStore) Checkpoints(_ context.Context, study string, trial int) ([]ckptstore.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errDown
	}
	var keys []ckptstore.Key
	for name := range s.objs {
		if k, ok := ckptstore.ParseName(name); ok && k.Study == study && k.Trial == trial {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Epoch != keys[j].Epoch {
			return keys[i].Epoch > keys[j].Epoch
		}
		return keys[i].Attempt > keys[j].Attempt
	})
	return keys, nil
}

func (s *memStore) DeleteTrial(ctx context.Context, study string, trial int) (int, error) {
	keys, err := s.Checkpoints(ctx, study, trial)
	for _, k := range keys {
		_ = s.Delete(ctx, k)
	}
	return len(keys), err
}

func (s *memStore) PutModel(_ context.Context, m ckptstore.Model, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	s.models[m.Trial] = m.Objective
	return nil
}

func (s *memStore) KeepBestModels(_ context.Context, _ string, k int, maximize bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var trials []int
	for t := range s.models {
		trials = append(trials, t)
	}
	sort.Slice(trials, func(i, j int) bool {
		a, b := s.models[trials[i]], s.models[trials[j]]
		if a != b {
			return (a > b) == maximize
		}
		return trials[i] < trials[j]
	})
	for _, t := range trials[min(k, len(trials)):] {
		delete(s.models, t)
	}
	return max(len(trials)-k, 0), nil
}

func (s *memStore) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.objs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// natsStore is the real object store on a private nats-server.
func natsStore(t *testing.T) *ckptstore.Store {
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
	st, err := ckptstore.New(js, ckptstore.Config{Bucket: "worker-test"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestObjectCheckpointsResumeOnAnotherWorker: a try on worker w1 fails
// after epoch 2; the next try, on worker w2 with no heartbeat details (as
// after a lost host), finds the checkpoint in the bucket and trains only
// epochs 3..5. Each try's checkpoints replace the previous ones, and
// RemoveCheckpoints leaves none.
func TestObjectCheckpointsResumeOnAnotherWorker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) CheckpointStore
	}{
		{"memory", func(*testing.T) CheckpointStore { return newMemStore() }},
		{"nats", func(t *testing.T) CheckpointStore { return natsStore(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store(t)
			in := smallTrial("s", 5)
			in.Attempt = 1
			a1 := &Activities{Publisher: &recPublisher{failAt: 3}, Checkpoints: st, Worker: "w1"}
			if _, err := runTrain(t, a1, in, nil); err == nil {
				t.Fatal("the first try succeeded; want it to fail at epoch 3")
			}
			ctx := context.Background()
			keys, err := st.Checkpoints(ctx, "s", 0)
			if err != nil || len(keys) != 1 || keys[0] != (ckptstore.Key{Study: "s", Trial: 0, Attempt: 1, Epoch: 2}) {
				t.Fatalf("after try 1: checkpoints %+v, %v; want only a0001-e0002", keys, err)
			}
			pub := &recPublisher{}
			a2 := &Activities{Publisher: pub, Checkpoints: st, Worker: "w2"}
			in.Attempt = 2
			out, err := runTrain(t, a2, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := pub.published(); out.EpochsDone != 5 || len(got) != 3 || got[0] != 3 {
				t.Fatalf("try 2 published %v (done %d); want epochs 3..5", got, out.EpochsDone)
			}
			keys, _ = st.Checkpoints(ctx, "s", 0)
			if len(keys) != 1 || keys[0] != (ckptstore.Key{Study: "s", Trial: 0, Attempt: 2, Epoch: 5}) {
				t.Fatalf("after try 2: checkpoints %+v; want only a0002-e0005", keys)
			}
			if err := a2.RemoveCheckpoints(ctx, workflows.RemoveCheckpointsInput{Study: "s", Number: 0}); err != nil {
				t.Fatal(err)
			}
			if keys, _ = st.Checkpoints(ctx, "s", 0); len(keys) != 0 {
				t.Fatalf("after RemoveCheckpoints: %+v", keys)
			}
		})
	}
}

// TestObjectCheckpointFaults: damaged or unreadable checkpoints are passed
// over for older ones, and a store that is down costs the trial its
// checkpoints, never the trial.
func TestObjectCheckpointFaults(t *testing.T) {
	t.Run("corrupt newest", func(t *testing.T) {
		st := newMemStore()
		in := smallTrial("s", 6)
		in.Attempt = 1
		if _, err := runTrain(t, &Activities{Publisher: &recPublisher{failAt: 3}, Checkpoints: st, Worker: "w1"}, in, nil); err == nil {
			t.Fatal("try 1 succeeded; want it to fail at epoch 3")
		}
		// A newer checkpoint whose bytes do not match their digest.
		bad := ckptstore.Key{Study: "s", Trial: 0, Attempt: 2, Epoch: 4}
		if _, err := st.Put(context.Background(), bad, []byte("damaged")); err != nil {
			t.Fatal(err)
		}
		st.corrupt[bad] = true
		pub := &recPublisher{}
		in.Attempt = 3
		hint := &workflows.TrainProgress{Epoch: 4, Checkpoint: ckptstore.Ref("mem", bad)}
		out, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w2"}, in, hint)
		if err != nil {
			t.Fatal(err)
		}
		if got := pub.published(); out.EpochsDone != 6 || len(got) != 4 || got[0] != 3 {
			t.Fatalf("published %v, done %d; want epochs 3..6 from the older, sound checkpoint", got, out.EpochsDone)
		}
	})
	t.Run("garbage content", func(t *testing.T) {
		st := newMemStore()
		k := ckptstore.Key{Study: "s", Trial: 0, Attempt: 1, Epoch: 3}
		if _, err := st.Put(context.Background(), k, []byte("not a checkpoint")); err != nil {
			t.Fatal(err)
		}
		pub := &recPublisher{}
		in := smallTrial("s", 4)
		in.Attempt = 2
		out, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w2"}, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := pub.published(); out.EpochsDone != 4 || len(got) != 4 || got[0] != 1 {
			t.Fatalf("published %v; want epochs 1..4 from the start", got)
		}
		for _, n := range st.names() {
			if n == k.Name() {
				t.Fatalf("the unusable checkpoint %s was kept", n)
			}
		}
	})
	t.Run("store down", func(t *testing.T) {
		st := newMemStore()
		st.down = true
		pub := &recPublisher{}
		in := smallTrial("s", 3)
		in.Attempt = 2
		hint := &workflows.TrainProgress{Epoch: 2, Checkpoint: ckptstore.Ref("mem", ckptstore.Key{Study: "s", Trial: 0, Attempt: 1, Epoch: 2})}
		out, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w"}, in, hint)
		if err != nil {
			t.Fatalf("a trial failed because its checkpoint store is down: %v", err)
		}
		if got := pub.published(); out.EpochsDone != 3 || len(got) != 3 {
			t.Fatalf("published %v; want epochs 1..3", got)
		}
	})
	t.Run("hint of another trial", func(t *testing.T) {
		st := newMemStore()
		other := ckptstore.Key{Study: "other", Trial: 0, Attempt: 1, Epoch: 2}
		if _, err := st.Put(context.Background(), other, []byte("x")); err != nil {
			t.Fatal(err)
		}
		pub := &recPublisher{}
		in := smallTrial("s", 3)
		in.Attempt = 2
		hint := &workflows.TrainProgress{Epoch: 2, Checkpoint: ckptstore.Ref("mem", other)}
		if _, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w"}, in, hint); err != nil {
			t.Fatal(err)
		}
		if got := pub.published(); len(got) != 3 || got[0] != 1 {
			t.Fatalf("published %v; want epochs 1..3: another trial's checkpoint must not be resumed", got)
		}
	})
}

// TestKeepModelsKeepsTheBest: complete trials keep their final weights
// while among the study's best keep_models.
func TestKeepModelsKeepsTheBest(t *testing.T) {
	st := newMemStore()
	for n := range 4 {
		in := smallTrial("s", 2)
		in.Number, in.Attempt, in.KeepModels, in.Direction = n, 1, 2, search.Maximize
		in.Config.Seed = uint64(n + 1)
		if _, err := runTrain(t, &Activities{Publisher: &recPublisher{}, Checkpoints: st, Worker: "w"}, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.models) != 2 {
		t.Fatalf("kept models %v; want 2", st.models)
	}
	in := smallTrial("s", 2)
	in.Number, in.Attempt = 9, 1 // keep_models 0
	if _, err := runTrain(t, &Activities{Publisher: &recPublisher{}, Checkpoints: st, Worker: "w"}, in, nil); err != nil {
		t.Fatal(err)
	}
	if _, kept := st.models[9]; kept {
		t.Fatal("a study without keep_models kept a model")
	}
}
