package redisstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

// AddUsage implements store.Store.
//
// A usage ID is remembered in a key of its own, which holds the end of its
// remembrance (judged by u.Now, as the contract says) and expires after
// twice u.Remember of Redis's own clock: the store may remember an ID up to
// twice as long, and forgets it by itself.
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
	idUntil, idTTL := "", int64(0)
	if u.ID != "" {
		idUntil, idTTL = encTime(u.Now.Add(u.Remember)), ttlMillis(twice(u.Remember))
	}
	v, err := s.run(ctx, scriptUsage, key,
		clientID, u.SubscriptionID, u.ID, idUntil, idTTL,
		store.HourOf(u.Time), int64(u.Cost), encTime(u.Now), u.Now.Unix(), u.BlockHours,
		u.Tokens.Input, u.Tokens.Output, u.Tokens.CacheWrite, u.Tokens.CacheRead, u.Model, encTime(u.HoldUntil),
		store.MinuteOf(u.Time))
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
	case "notfound":
		if len(rest) > 0 && str(rest[0]) == "client" {
			return store.Added{}, fmt.Errorf("redisstore: client %q: %w", clientID, store.ErrNotFound)
		}
		return store.Added{}, fmt.Errorf("redisstore: subscription %q: %w", u.SubscriptionID, store.ErrNotFound)
	}
	return store.Added{}, errReply(scriptUsage.name, v)
}

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
