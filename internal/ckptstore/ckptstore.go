// Package ckptstore keeps trial checkpoints and kept models in a NATS
// JetStream object-store bucket, so that a retried trial resumes on any
// host that reaches NATS, not only on the one whose disk holds its files.
//
// Object names:
//
//	ckpt/<study>/<trial>/a<attempt>-e<epoch>   a checkpoint written by one try after one epoch
//	model/<study>/<trial>                      the final weights of a complete trial that is kept
//
// Study names follow the spec's rule (^[a-z0-9][a-z0-9-]{0,62}$), so the
// two prefixes never meet. A checkpoint is named in heartbeat details by
// its reference, Ref: "nats-object://<bucket>/<name>".
//
// It uses the jetstream package of github.com/nats-io/nats.go, the client
// the rest of relutune already uses for the metric stream.
package ckptstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBucket is the bucket checkpoints and kept models go to.
const DefaultBucket = "relutune-checkpoints"

// MaxObjectBytes bounds an object this package reads: a checkpoint or
// model larger than this is refused before it is downloaded.
const MaxObjectBytes = 1 << 30

// MaxReplicas is the largest replica count JetStream accepts.
const MaxReplicas = 5

// refScheme starts a checkpoint reference.
const refScheme = "nats-object://"

// Errors of this package.
var (
	// ErrInvalidConfig is wrapped by the errors of Config.Validate.
	ErrInvalidConfig = errors.New("ckptstore: invalid configuration")
	// ErrNotFound: no such checkpoint or model.
	ErrNotFound = errors.New("ckptstore: not found")
	// ErrTooLarge: the object is larger than MaxObjectBytes.
	ErrTooLarge = errors.New("ckptstore: object too large")
	// ErrCorrupt: the object's bytes do not match its digest.
	ErrCorrupt = errors.New("ckptstore: object corrupt (digest mismatch)")
)

// bucketRE is JetStream's rule for bucket names.
var bucketRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// studyRE is the spec's rule for study names.
var studyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Config names the bucket and its replicas.
type Config struct {
	Bucket   string // default DefaultBucket
	Replicas int    // 1 to MaxReplicas; default 1
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// Validate checks c (after WithDefaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	if !bucketRE.MatchString(c.Bucket) {
		return fmt.Errorf("%w: bucket %q must be letters, digits, '-' and '_'", ErrInvalidConfig, c.Bucket)
	}
	if c.Replicas < 1 || c.Replicas > MaxReplicas {
		return fmt.Errorf("%w: replicas %d must be between 1 and %d", ErrInvalidConfig, c.Replicas, MaxReplicas)
	}
	return nil
}

// Key identifies one checkpoint.
type Key struct {
	Study   string
	Trial   int
	Attempt int
	Epoch   int
}

// Name is the key's object name.
func (k Key) Name() string {
	return fmt.Sprintf("%sa%04d-e%04d", trialPrefix(k.Study, k.Trial), k.Attempt, k.Epoch)
}

// newer orders keys: the higher epoch first, then the higher attempt.
func (k Key) newer(o Key) bool {
	if k.Epoch != o.Epoch {
		return k.Epoch > o.Epoch
	}
	return k.Attempt > o.Attempt
}

func trialPrefix(study string, trial int) string {
	return "ckpt/" + study + "/" + strconv.Itoa(trial) + "/"
}

func modelName(study string, trial int) string {
	return "model/" + study + "/" + strconv.Itoa(trial)
}

// ParseName parses a checkpoint's object name; ok is false for anything
// else, including names whose numbers are not in canonical form.
func ParseName(name string) (k Key, ok bool) {
	rest, found := strings.CutPrefix(name, "ckpt/")
	if !found {
		return Key{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !studyRE.MatchString(parts[0]) {
		return Key{}, false
	}
	trial, err := strconv.Atoi(parts[1])
	if err != nil || trial < 0 || strconv.Itoa(trial) != parts[1] {
		return Key{}, false
	}
	var a, e int
	if _, err := fmt.Sscanf(parts[2], "a%d-e%d", &a, &e); err != nil || a < 1 || e < 1 {
		return Key{}, false
	}
	k = Key{Study: parts[0], Trial: trial, Attempt: a, Epoch: e}
	if k.Name() != name {
		return Key{}, false
	}
	return k, true
}

// Ref is the reference to k in bucket that heartbeat details carry.
func Ref(bucket string, k Key) string { return refScheme + bucket + "/" + k.Name() }

// IsRef reports whether s is shaped like a checkpoint reference of this
// package (it may still name another bucket or a malformed key).
func IsRef(s string) bool { return strings.HasPrefix(s, refScheme) }

// ParseRef parses a reference made by Ref.
func ParseRef(ref string) (bucket string, k Key, ok bool) {
	rest, found := strings.CutPrefix(ref, refScheme)
	if !found {
		return "", Key{}, false
	}
	bucket, name, found := strings.Cut(rest, "/")
	if !found || !bucketRE.MatchString(bucket) {
		return "", Key{}, false
	}
	k, ok = ParseName(name)
	return bucket, k, ok
}

// Store is a checkpoint bucket. The bucket is created (or bound) on first
// use and again after a failure, so a worker that starts while NATS is
// away gets its checkpoints once NATS is back.
type Store struct {
	js  jetstream.JetStream
	cfg Config

	mu  sync.Mutex
	obs jetstream.ObjectStore
}

// New returns the store of cfg's bucket on js; it does not contact NATS.
func New(js jetstream.JetStream, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{js: js, cfg: cfg}, nil
}

// Bucket is the store's bucket name.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// Open makes sure the bucket exists, creating it with the configured
// replicas when it does not.
func (s *Store) Open(ctx context.Context) error {
	_, err := s.bucket(ctx)
	return err
}

func (s *Store) bucket(ctx context.Context) (jetstream.ObjectStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.obs != nil {
		return s.obs, nil
	}
	obs, err := s.js.ObjectStore(ctx, s.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = s.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      s.cfg.Bucket,
			Description: "relutune trial checkpoints and kept models",
			Replicas:    s.cfg.Replicas,
			Storage:     jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = s.js.ObjectStore(ctx, s.cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint bucket %s: %w", s.cfg.Bucket, err)
	}
	s.obs = obs
	return obs, nil
}

// Put stores a checkpoint and returns its reference.
func (s *Store) Put(ctx context.Context, k Key, data []byte) (string, error) {
	obs, err := s.bucket(ctx)
	if err != nil {
		return "", err
	}
	if _, err := obs.PutBytes(ctx, k.Name(), data); err != nil {
		return "", fmt.Errorf("put checkpoint %s: %w", k.Name(), err)
	}
	return Ref(s.cfg.Bucket, k), nil
}

// Get reads a checkpoint whole (see getName for what it refuses).
func (s *Store) Get(ctx context.Context, k Key) ([]byte, error) {
	return s.getName(ctx, k.Name())
}

// getName reads an object whole, refusing one over MaxObjectBytes and
// one whose bytes do not match its digest (ErrCorrupt).
func (s *Store) getName(ctx context.Context, name string) ([]byte, error) {
	obs, err := s.bucket(ctx)
	if err != nil {
		return nil, err
	}
	res, err := obs.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if info.Size > MaxObjectBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrTooLarge, name, info.Size, MaxObjectBytes)
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	if _, err := io.Copy(&buf, io.LimitReader(res, MaxObjectBytes+1)); err != nil {
		if errors.Is(err, jetstream.ErrDigestMismatch) {
			return nil, fmt.Errorf("%w: %s", ErrCorrupt, name)
		}
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if uint64(buf.Len()) != info.Size {
		return nil, fmt.Errorf("%w: %s holds %d bytes, its info says %d", ErrCorrupt, name, buf.Len(), info.Size)
	}
	return buf.Bytes(), nil
}

// Delete removes a checkpoint; removing one that is not there is no error.
func (s *Store) Delete(ctx context.Context, k Key) error {
	return s.deleteName(ctx, k.Name())
}

func (s *Store) deleteName(ctx context.Context, name string) error {
	obs, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	if err := obs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// list returns the bucket's objects (not the deleted ones).
func (s *Store) list(ctx context.Context) ([]*jetstream.ObjectInfo, error) {
	obs, err := s.bucket(ctx)
	if err != nil {
		return nil, err
	}
	infos, err := obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list bucket %s: %w", s.cfg.Bucket, err)
	}
	return infos, nil
}

// Checkpoints lists the trial's checkpoints, newest first (highest epoch,
// then highest attempt).
func (s *Store) Checkpoints(ctx context.Context, study string, trial int) ([]Key, error) {
	infos, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	prefix := trialPrefix(study, trial)
	var keys []Key
	for _, info := range infos {
		if !strings.HasPrefix(info.Name, prefix) {
			continue
		}
		if k, ok := ParseName(info.Name); ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].newer(keys[j]) })
	return keys, nil
}

// DeleteTrial removes every checkpoint of the trial, of every attempt.
func (s *Store) DeleteTrial(ctx context.Context, study string, trial int) (int, error) {
	keys, err := s.Checkpoints(ctx, study, trial)
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			return i, err
		}
	}
	return len(keys), nil
}

// metaObjective is the model's metadata key for its objective value.
const metaObjective = "relutune-objective"

// Model is a kept model's description.
type Model struct {
	Study     string
	Trial     int
	Objective float64
	Size      uint64
}

// PutModel keeps a complete trial's final weights with its objective.
func (s *Store) PutModel(ctx context.Context, m Model, data []byte) error {
	if !studyRE.MatchString(m.Study) || m.Trial < 0 {
		return fmt.Errorf("ckptstore: model of study %q trial %d: not a valid study and trial", m.Study, m.Trial)
	}
	if math.IsNaN(m.Objective) || math.IsInf(m.Objective, 0) {
		return fmt.Errorf("ckptstore: model of %s trial %d: objective %v is not finite", m.Study, m.Trial, m.Objective)
	}
	obs, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{
		Name:     modelName(m.Study, m.Trial),
		Metadata: map[string]string{metaObjective: strconv.FormatFloat(m.Objective, 'g', -1, 64)},
	}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("put model %s: %w", meta.Name, err)
	}
	return nil
}

// Models lists the study's kept models, best first for maximize (higher
// objective first) or, with minimize, lower first; ties by trial number.
func (s *Store) Models(ctx context.Context, study string, maximize bool) ([]Model, error) {
	infos, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	prefix := "model/" + study + "/"
	var ms []Model
	for _, info := range infos {
		rest, ok := strings.CutPrefix(info.Name, prefix)
		if !ok {
			continue
		}
		trial, err := strconv.Atoi(rest)
		if err != nil || trial < 0 || strconv.Itoa(trial) != rest {
			continue
		}
		v, err := strconv.ParseFloat(info.Metadata[metaObjective], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue // not one of ours, or damaged: never ranked
		}
		ms = append(ms, Model{Study: study, Trial: trial, Objective: v, Size: info.Size})
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Objective != b.Objective {
			return (a.Objective > b.Objective) == maximize
		}
		return a.Trial < b.Trial
	})
	return ms, nil
}

// KeepBestModels removes the study's models beyond the best k. Workers
// call it concurrently: each removes only models outside the best k of
// what it lists, which are outside the best k of the whole study too, so
// a race can leave an extra model until the next call but never removes
// one of the best k.
func (s *Store) KeepBestModels(ctx context.Context, study string, k int, maximize bool) (removed int, err error) {
	ms, err := s.Models(ctx, study, maximize)
	if err != nil {
		return 0, err
	}
	for _, m := range ms[min(k, len(ms)):] {
		if err := s.deleteName(ctx, modelName(study, m.Trial)); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// GetModel reads a kept model.
func (s *Store) GetModel(ctx context.Context, study string, trial int) ([]byte, error) {
	return s.getName(ctx, modelName(study, trial))
}

// DeleteModels removes every kept model of the study.
func (s *Store) DeleteModels(ctx context.Context, study string) (int, error) {
	return s.KeepBestModels(ctx, study, 0, true)
}

// DeleteStudy removes every checkpoint and kept model of the study and
// returns how many objects it removed.
func (s *Store) DeleteStudy(ctx context.Context, study string) (int, error) {
	infos, err := s.list(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, info := range infos {
		if !strings.HasPrefix(info.Name, "ckpt/"+study+"/") && !strings.HasPrefix(info.Name, "model/"+study+"/") {
			continue
		}
		if err := s.deleteName(ctx, info.Name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
