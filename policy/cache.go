package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"
)

// Cache holds compiled policies so that each policy version is compiled, tested and prepared
// once per process. It is keyed by the module's SHA-256 together with the policy name (the name
// is part of a Policy, so two names with the same text get a Policy each). Concurrent Gets of
// the same key share one compilation. Failed compilations are not kept: the next Get tries
// again. Entries are never evicted; a registry holds few policy versions. The zero Cache is not
// usable: call NewCache.
type Cache struct {
	mu       sync.Mutex
	entries  map[cacheKey]*cacheEntry
	compiles atomic.Int64 // how many compilations ran, for tests
}

type cacheKey struct{ name, sha string }

type cacheEntry struct {
	done   chan struct{} // closed when p and err are set
	policy *Policy
	err    error
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{entries: map[cacheKey]*cacheEntry{}}
}

// Get returns the compiled policy for name and module, compiling it with [Compile] if this cache
// has not yet. The compilation is not canceled with ctx, since other callers may be waiting for
// it ([CompileTimeout] bounds it); a Get whose ctx ends while waiting returns ctx's error.
func (c *Cache) Get(ctx context.Context, name, module string) (*Policy, error) {
	sum := sha256.Sum256([]byte(module))
	key := cacheKey{name: name, sha: hex.EncodeToString(sum[:])}

	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{done: make(chan struct{})}
		c.entries[key] = e
		go c.compile(context.WithoutCancel(ctx), key, e, name, module)
	}
	c.mu.Unlock()

	select {
	case <-e.done:
		return e.policy, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Cache) compile(ctx context.Context, key cacheKey, e *cacheEntry, name, module string) {
	c.compiles.Add(1)
	e.policy, e.err = Compile(ctx, name, module)
	if e.err != nil {
		c.mu.Lock()
		delete(c.entries, key)
		c.mu.Unlock()
	}
	close(e.done)
}
