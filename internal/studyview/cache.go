package studyview

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sync"

	"github.com/relutune/relutune/internal/importance"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
)

// maxCached bounds the studies a Cache remembers.
const maxCached = 256

// Cache keeps each study's last parameter importances, keyed by its
// complete trials and their objectives: fANOVA fits 64 trees, and a
// dashboard reloads a running study at every epoch, while importances
// change only when a trial completes. The zero value is ready to use; a
// nil *Cache caches nothing.
type Cache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	key  [32]byte
	imps []importance.Importance
	note string
}

func (c *Cache) importances(study string, space *search.Space, complete []store.TrialOverview, configs map[int]search.Config) ([]importance.Importance, string) {
	if c == nil {
		return importances(space, complete, configs)
	}
	h := sha256.New()
	var b [16]byte
	for _, t := range complete {
		binary.LittleEndian.PutUint64(b[:8], uint64(t.Trial))
		binary.LittleEndian.PutUint64(b[8:], math.Float64bits(*t.Objective))
		h.Write(b[:])
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	c.mu.Lock()
	if e, ok := c.m[study]; ok && e.key == key {
		c.mu.Unlock()
		return e.imps, e.note
	}
	c.mu.Unlock()
	imps, note := importances(space, complete, configs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cached{}
	}
	c.m[study] = cached{key: key, imps: imps, note: note}
	return imps, note
}
