package redisstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/authpool/authpool/store"
)

// AddUsage implements store.Store.
//
// The usage IDs are remembered in one sorted set, {p}:ids, whose members are
// the first 16 bytes of each ID's SHA-256 (no one can choose two IDs that
// collide) scored by the usage's time in Unix microseconds, and the horizon
// in {p}:idh, in the same unit: the script forgets the lowest scores, a few
// per call, and the horizon compares exactly with the scores. A usage ID
// remembered by a version that kept one key per ID, {p}:id:<ID>, is still a
// duplicate until that key expires.
func (s *Store) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	var key string
	switch {
	case clientID != "":
		key = s.keys.session(clientID)
	case u.SubscriptionID != "":
		key = s.keys.sub(u.SubscriptionID)
	default:
		return store.Added{}, fmt.Errorf("redisstore: a usage without a client must name its subscription: %w", store.ErrNotFound)
	}
	var member string
	var at, cut, limit, ttl int64
	if u.ID != "" {
		sum := sha256.Sum256([]byte(u.ID))
		member = string(sum[:16])
		at, cut = u.Time.UnixMicro(), u.Now.Add(-u.Remember).UnixMicro()
		limit, ttl = max(u.RememberBytes/IDBytes, 1), ttlMillis(twice(u.Remember))
	}
	v, err := s.run(ctx, scriptUsage, key,
		clientID, u.SubscriptionID, u.ID, member, at,
		store.HourOf(u.Time), int64(u.Cost), encTime(u.Now), u.Now.Unix(), u.BlockHours,
		u.Tokens.Input, u.Tokens.Output, u.Tokens.CacheWrite, u.Tokens.CacheRead, u.Model, encTime(u.HoldUntil),
		store.MinuteOf(u.Time), cut, limit, ttl)
	if err != nil {
		return store.Added{}, err
	}
	code, rest, err := reply(scriptUsage.name, v)
	if err != nil {
		return store.Added{}, err
	}
	switch code {
	case "ok":
		switch len(rest) {
		case 1:
			return store.Added{Billed: str(rest[0])}, nil
		case 4:
			var d decoder
			a := store.Added{Billed: str(rest[0]), SubscriptionID: str(rest[1]), Held: d.time(orNil(rest[2])), HoldUntil: d.time(orNil(rest[3]))}
			if d.err != nil {
				return store.Added{}, fmt.Errorf("redisstore: %s: %w", scriptUsage.name, d.err)
			}
			return a, nil
		}
	case "duplicate":
		return store.Added{}, fmt.Errorf("redisstore: usage %q: %w", u.ID, store.ErrDuplicate)
	case "forgotten":
		if len(rest) == 1 {
			if us, err := strconv.ParseInt(str(rest[0]), 10, 64); err == nil {
				return store.Added{}, fmt.Errorf("redisstore: %w", &store.ForgottenError{ID: u.ID, Time: u.Time, Horizon: time.UnixMicro(us).UTC()})
			}
		}
	case "notfound":
		if len(rest) > 0 && str(rest[0]) == "client" {
			return store.Added{}, fmt.Errorf("redisstore: client %q: %w", clientID, store.ErrNotFound)
		}
		return store.Added{}, fmt.Errorf("redisstore: subscription %q: %w", u.SubscriptionID, store.ErrNotFound)
	}
	return store.Added{}, errReply(scriptUsage.name, v)
}

// IDBytes is what one remembered usage ID costs in Redis, in bytes: its
// member (16 bytes) and score in {p}:ids, a sorted set (a skiplist node
// and a hash table entry). It is measured (TestIDBytes: MEMORY USAGE of
// the set of 100,000 IDs, 119.9 bytes each on Redis 7.0) and rounded up to
// cover the set's hash table just after it doubles; AddUsage remembers
// RememberBytes/IDBytes IDs.
const IDBytes = 128

// ttlMillis returns d in whole milliseconds, at least 1: a key's TTL.
func ttlMillis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// twice returns 2*d, or the longest duration if that overflows.
func twice(d time.Duration) time.Duration {
	if d > math.MaxInt64/2 {
		return math.MaxInt64
	}
	return 2 * d
}

// minClaimTTL is the shortest time of Redis's clock a claim is kept. The
// claim is judged by the callers' clock (its until against their now); the
// key's expiry only cleans up, and must not end a claim early when the
// callers' clock runs slower than Redis's (an injected clock in a test, a
// host whose clock lags).
const minClaimTTL = 10 * time.Minute

// Claim implements store.Store. A claim is a key holding its until, which
// expires after twice the claim's length (until - now), and at least
// minClaimTTL, of Redis's clock.
func (s *Store) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	ttl := max(twice(until.Sub(now)), minClaimTTL)
	v, err := s.run(ctx, scriptClaim, s.keys.claim(key), encTime(now), encTime(until), ttlMillis(ttl))
	if err != nil {
		return false, err
	}
	n, ok := v.(int64)
	if !ok {
		return false, errReply(scriptClaim.name, v)
	}
	return n == 1, nil
}
