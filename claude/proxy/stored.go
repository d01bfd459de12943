package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// This file knows a Proxy's callers kept in a store (StoreCallers), and
// makes and hashes their keys.

// CallerKeyPrefix starts every key NewCallerKey makes, so that a caller
// key is recognisable in a config or a leak report.
const CallerKeyPrefix = "apk-"

// callerKeyBytes is the entropy of a caller key, in bytes.
const callerKeyBytes = 32

// NewCallerKey returns a new caller key: CallerKeyPrefix followed by 32
// bytes from crypto/rand in unpadded base64url, 47 bytes in all. Show it
// to its caller once and keep only its hash (HashCallerKey).
func NewCallerKey() (authpool.Credential, error) {
	var b [callerKeyBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("claude: proxy: making a caller key: %w", err)
	}
	return authpool.Credential(CallerKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])), nil
}

// HashCallerKey returns the SHA-256 of a caller key: what a
// store.CallerStore keeps of it (store.Caller.KeyHash), and what
// StoreCallers looks a presented key up by. A key of 32 random bytes needs
// no slow hash: no one can guess one from its hash.
func HashCallerKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// Defaults of StoreCallers.
const (
	// DefaultCallerCache is how long StoreCallers remembers a caller found
	// by its key: a caller removed from the store, or changed, is served as
	// it was for at most that long.
	DefaultCallerCache = 5 * time.Second
	// DefaultCallerLease is how long, at most, an admitted request of a
	// capped caller counts as in flight (store.CallerStore.AdmitCaller): a
	// request is released when its response ends, and a proxy that dies
	// meanwhile blocks the caller near its cap no longer than this.
	DefaultCallerLease = 10 * time.Minute
	// DefaultCallerRemember and DefaultCallerRememberBytes are how long and
	// in how much of the store's memory the callers' usage IDs are
	// remembered: a pool's defaults (authpool.Config's RememberUsageIDs and
	// UsageIDMemoryMiB).
	DefaultCallerRemember      = store.WeekHours * time.Hour
	DefaultCallerRememberBytes = 64 << 20
)

// maxCallerCache bounds StoreCallers' cache: past it, it starts again.
const maxCallerCache = 4096

// StoreCallers gives a Proxy (its Stored field) callers kept in a
// store.CallerStore, which the proxies sharing the store share: a key that
// Identify, or Callers, does not know is hashed (HashCallerKey) and looked
// up in the store (CallerByKey); a caller found is remembered for CacheFor.
// A capped caller's requests are admitted under its cap through the store
// (AdmitCaller, ReleaseCaller: the cap holds across proxies, overshot by
// less than one request's cost while no request costs more than the
// largest before it; store.CallerStore says the whole bound), and every
// request's usage is charged to its caller there (ChargeCaller, under the
// message id, with its Claude Code session), capped or not. When the
// store cannot be reached the request is refused with 503 and retry-after,
// as when the pool's store is down.
//
// A StoreCallers is safe for concurrent use; its fields must not change
// once a Proxy serves with it.
type StoreCallers struct {
	// Store keeps the callers. Required.
	Store store.CallerStore
	// CacheFor is how long a caller found by its key is remembered, by the
	// Transport's clock. The default is DefaultCallerCache; a negative
	// value remembers none. A key not found is never remembered.
	CacheFor time.Duration
	// Lease is how long an admitted request counts as in flight at most.
	// The default is DefaultCallerLease.
	Lease time.Duration
	// Remember and RememberBytes are how long and in how much memory the
	// store remembers the usage IDs of charges. The defaults are
	// DefaultCallerRemember and DefaultCallerRememberBytes.
	Remember      time.Duration
	RememberBytes int64

	mu    sync.Mutex
	cache map[[32]byte]cachedCaller
}

// cachedCaller is a caller found by its key, until when it is remembered.
type cachedCaller struct {
	c     Caller
	rec   store.Caller
	until time.Time
}

// lookup returns the caller whose key is key, found through the cache or
// the store at now; false when the store has none.
func (s *StoreCallers) lookup(ctx context.Context, key string, now time.Time) (Caller, store.Caller, bool, error) {
	if s.Store == nil {
		return Caller{}, store.Caller{}, false, nil
	}
	h := HashCallerKey(key)
	s.mu.Lock()
	hit, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(hit.until) {
		return hit.c, hit.rec, true, nil
	}
	rec, err := s.Store.CallerByKey(ctx, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Caller{}, store.Caller{}, false, nil
	case err != nil:
		return Caller{}, store.Caller{}, false, err
	}
	c := callerOf(rec)
	if d := s.cacheFor(); d > 0 {
		s.mu.Lock()
		if s.cache == nil || len(s.cache) >= maxCallerCache {
			s.cache = make(map[[32]byte]cachedCaller)
		}
		s.cache[h] = cachedCaller{c: c, rec: rec, until: now.Add(d)}
		s.mu.Unlock()
	}
	return c, rec, true, nil
}

func (s *StoreCallers) cacheFor() time.Duration {
	if s.CacheFor == 0 {
		return DefaultCallerCache
	}
	return s.CacheFor
}

// callerOf returns a stored caller as a Proxy's Caller (without its key,
// which the store does not hold).
func callerOf(rec store.Caller) Caller {
	c := Caller{ID: rec.ID, CapUSD: rec.Cap.USD(), CapWindow: authpool.Duration(time.Duration(rec.CapWindowHours) * time.Hour),
		Sessionless: Sessionless(rec.Sessionless)}
	if rec.RatePerSecond > 0 {
		c.Rate = &RateLimit{PerSecond: rec.RatePerSecond, Burst: rec.RateBurst}
	}
	return c
}

// identity is who sent a request: its caller, the key it is known by, and
// whether it was found, in the store or not.
type identity struct {
	caller Caller
	key    string
	ok     bool
	stored bool
	rec    store.Caller // the stored caller's record
	err    error        // the store's, when the lookup failed
}

// identifyAny returns the caller of a request: through Identify (or
// Callers), else through Stored.
func (p *Proxy) identifyAny(r *http.Request) identity {
	c, key, ok := p.identify(r)
	if ok || key == "" || p.Stored == nil {
		return identity{caller: c, key: key, ok: ok}
	}
	c, rec, ok, err := p.Stored.lookup(r.Context(), key, p.Transport.now())
	return identity{caller: c, key: key, ok: ok, stored: ok, rec: rec, err: err}
}
