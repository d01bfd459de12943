package authpool

import (
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is how often a client may call Allocate: a token bucket
// (golang.org/x/time/rate) that holds Burst calls and refills at PerSecond
// calls a second. A client that has been quiet may make Burst calls at
// once; after that, PerSecond a second. The zero RateLimit means no limit.
type RateLimit struct {
	// PerSecond is the rate the bucket refills at, in calls a second, at
	// most MaxRatePerSecond: 0.5 is a call every 2 seconds. 0 means no
	// limit.
	PerSecond float64 `json:"perSecond,omitempty"`
	// Burst is how many calls the bucket holds: at least 1 when PerSecond
	// is set, and 0 when it is not. It has no default.
	Burst int `json:"burst,omitempty"`
}

// MaxRatePerSecond bounds RateLimit.PerSecond.
const MaxRatePerSecond = 1e6

// limited reports whether r limits anything.
func (r RateLimit) limited() bool { return r.PerSecond > 0 }

// Validate reports every problem of r at once, as a *ConfigError from
// "rate limit" whose problems name the fields by JSON pointer
// ("/burst: ..."). Config.Validate checks ClientRate so; package claude's
// Proxy checks its callers' Rate so.
func (r RateLimit) Validate() error {
	if errs := r.problems(); len(errs) > 0 {
		return &ConfigError{Source: "rate limit", Problems: errs}
	}
	return nil
}

// problems lists what is wrong with r, each as "/field: ...".
func (r RateLimit) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("/%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if math.IsNaN(r.PerSecond) || r.PerSecond < 0 || r.PerSecond > MaxRatePerSecond {
		bad("perSecond", "%v: must be in 0..%v", r.PerSecond, float64(MaxRatePerSecond))
	}
	switch {
	case r.Burst < 0 || r.Burst > maxCount:
		bad("burst", "%d: must be in 1..%d", r.Burst, maxCount)
	case r.PerSecond > 0 && r.Burst < 1:
		bad("burst", "%d: must be at least 1 when perSecond is set (a bucket of 0 refuses every call)", r.Burst)
	case r.PerSecond == 0 && r.Burst > 0:
		bad("burst", "%d: set perSecond too, or neither (a bucket that never refills would refuse the client for good)", r.Burst)
	}
	return errs
}

// RateKey tells Allocate to count the call against the rate limit of key
// rather than of the client: calls of several clients with one key share a
// bucket. Limit, when not nil, is the key's limit in place of
// Config.ClientRate (a zero RateLimit exempts the key); the bucket takes the
// limit of each call. Package claude's Proxy gives the caller's ID and its
// Rate, so that a caller's sessions (each a client of its own) share one
// limit. RateKey("", nil) is the client's own.
func RateKey(key string, limit *RateLimit) AllocateOption {
	return AllocateOption{rateKey: key, rate: limit}
}

// Resend tells Allocate that the call places again a request an earlier
// call let through, on another subscription after the first one failed: it
// is not counted against the rate limit a second time.
func Resend() AllocateOption { return AllocateOption{resend: true} }

// rateKeyOf returns the key the options count a call against, or "" for
// the client's own, the limit they give it (nil: Config.ClientRate), and
// whether the call is a Resend.
func rateKeyOf(opts []AllocateOption) (key string, limit *RateLimit, resend bool) {
	for _, o := range opts {
		if o.rateKey != "" || o.rate != nil {
			key, limit = o.rateKey, o.rate
		}
		resend = resend || o.resend
	}
	return key, limit, resend
}

// The rate limiter holds a bucket (a *rate.Limiter) per key, made at the
// key's first call, in shards each under a read-write mutex: a call looks
// its bucket up and takes from it under the shard's read lock, so only
// making a bucket and dropping buckets take the write lock.
//
// Memory stays bounded by dropping buckets nobody needs: a bucket that is
// full again (Burst/PerSecond after its key's last call) is the same as a
// new one, so dropping it changes nothing. Buckets are swept for that every
// Rebalance, and in a shard each time it has doubled since its last sweep:
// a shard holds at most twice the buckets that were not full at its last
// sweep, or minSweep, whichever is more, even when Rebalance is never
// called. A call to a bucket happens under the shard's read lock and a
// sweep under its write lock, so no call takes from a bucket being dropped.
type rateLimiter struct {
	def    RateLimit // Config.ClientRate
	seed   maphash.Seed
	shards [rateShards]rateShard
}

const (
	rateShards = 16
	minSweep   = 64 // a shard is not swept for room below this many buckets
)

type rateShard struct {
	mu      sync.RWMutex
	buckets map[string]*bucket
	sweepAt int // sweep when a new bucket would make this many; under mu
}

// bucket is one key's token bucket.
type bucket struct {
	mu    sync.Mutex
	last  time.Time // the latest time given to lim; under mu
	limit RateLimit // lim's; under mu
	lim   *rate.Limiter
}

// newRateLimiter returns the rate limiter of cfg.
func newRateLimiter(cfg Config) *rateLimiter {
	r := &rateLimiter{def: cfg.ClientRate, seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].buckets = make(map[string]*bucket)
		r.shards[i].sweepAt = minSweep
	}
	return r
}

// allow takes a call from key's bucket, of limit l, at now, or returns how
// long until the bucket holds one. A limit that limits nothing lets the
// call through without a bucket.
func (r *rateLimiter) allow(key string, l RateLimit, now time.Time) (time.Duration, bool) {
	if !l.limited() {
		return 0, true
	}
	s := &r.shards[maphash.String(r.seed, key)%rateShards]
	s.mu.RLock()
	if b := s.buckets[key]; b != nil {
		wait, ok := b.take(l, now)
		s.mu.RUnlock()
		return wait, ok
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= s.sweepAt {
			s.sweep(now)
		}
		b = &bucket{limit: l, lim: rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst)}
		s.buckets[key] = b
	}
	return b.take(l, now)
}

// sweep drops the buckets that are full at now from every shard.
func (r *rateLimiter) sweep(now time.Time) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
}

// size returns how many buckets the limiter holds.
func (r *rateLimiter) size() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		n += len(s.buckets)
		s.mu.RUnlock()
	}
	return n
}

// sweep drops the shard's buckets that are full at now, and sets when it
// is swept next. The caller holds s.mu for writing.
func (s *rateShard) sweep(now time.Time) {
	for key, b := range s.buckets {
		if b.lim.TokensAt(now) >= float64(b.lim.Burst()) {
			delete(s.buckets, key)
		}
	}
	s.sweepAt = max(2*len(s.buckets), minSweep)
}

// take takes a call from the bucket, of limit l, at now, or returns how
// long until it holds one; a bucket of another limit takes l from now on.
// Times are taken in order: a now before one already given (a
// goroutine that read the clock earlier, or a clock stepped back) counts
// as that one, which rate.Limiter needs to never give more than Burst plus
// PerSecond a second.
func (b *bucket) take(l RateLimit, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.last) {
		now = b.last
	} else {
		b.last = now
	}
	if l != b.limit {
		b.lim.SetLimitAt(now, rate.Limit(l.PerSecond))
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	if b.lim.AllowN(now, 1) {
		return 0, true
	}
	missing := 1 - b.lim.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(b.lim.Limit()) * float64(time.Second)))
	// The bucket's own arithmetic decides: step past any rounding, so that
	// a call at now+wait is let through.
	for i := 0; i < 64 && b.lim.TokensAt(now.Add(wait)) < 1; i++ {
		wait++
	}
	return max(wait, time.Nanosecond), false
}

// rateLimit counts an Allocate of the client at now against its rate
// limit, returning a *RateLimitedError when it is over. The limit is
// Config.ClientRate, or the one RateKey gave.
func (p *Pool) rateLimit(clientID string, opts []AllocateOption, now time.Time) error {
	key, limit, resend := rateKeyOf(opts)
	if resend {
		return nil
	}
	if key == "" {
		key = clientID
	}
	l := p.rates.def
	if limit != nil {
		if errs := limit.problems(); len(errs) > 0 {
			return fmt.Errorf("authpool: allocate: rate key %q: limit%w: %w", key, errs[0], ErrInvalidArgument)
		}
		l = *limit
	}
	if wait, ok := p.rates.allow(key, l, now); !ok {
		return &RateLimitedError{ClientID: clientID, Key: key, RetryAfter: wait}
	}
	return nil
}
