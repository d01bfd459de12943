package proxy

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/authpool/authpool"
)

// RateLimit is how often a caller may send requests through a Proxy: a
// token bucket (golang.org/x/time/rate) that holds Burst requests and
// refills at PerSecond requests a second. A caller that has been quiet may
// send Burst requests at once; after that, PerSecond a second. The zero
// RateLimit means no limit.
type RateLimit struct {
	// PerSecond is the rate the bucket refills at, in requests a second, at
	// most MaxRatePerSecond: 0.5 is a request every 2 seconds. 0 means no
	// limit.
	PerSecond float64 `json:"perSecond,omitempty"`
	// Burst is how many requests the bucket holds: at least 1 when
	// PerSecond is set, and 0 when it is not. It has no default.
	Burst int `json:"burst,omitempty"`
}

// MaxRatePerSecond bounds RateLimit.PerSecond.
const MaxRatePerSecond = 1e6

// maxBurst bounds RateLimit.Burst, as the pool bounds its counts.
const maxBurst = 1 << 30

// limited reports whether r limits anything.
func (r RateLimit) limited() bool { return r.PerSecond > 0 }

// Validate reports every problem of r at once, as a *authpool.ConfigError
// (matching authpool.ErrInvalidConfig) from "rate limit" whose problems
// name the fields by JSON pointer ("/burst: ..."). ValidateCallers checks
// each caller's Rate so.
func (r RateLimit) Validate() error {
	if errs := r.problems(); len(errs) > 0 {
		return &authpool.ConfigError{Source: "rate limit", Problems: errs}
	}
	return nil
}

// valid reports whether r has no problem, without making any.
func (r RateLimit) valid() bool {
	return r.PerSecond >= 0 && r.PerSecond <= MaxRatePerSecond && r.Burst >= 0 && r.Burst <= maxBurst &&
		(r.PerSecond > 0) == (r.Burst > 0)
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
	case r.Burst < 0 || r.Burst > maxBurst:
		bad("burst", "%d: must be in 1..%d", r.Burst, maxBurst)
	case r.PerSecond > 0 && r.Burst < 1:
		bad("burst", "%d: must be at least 1 when perSecond is set (a bucket of 0 refuses every call)", r.Burst)
	case r.PerSecond == 0 && r.Burst > 0:
		bad("burst", "%d: set perSecond too, or neither (a bucket that never refills would refuse the client for good)", r.Burst)
	}
	return errs
}

// The rate limiter holds a bucket (a *rate.Limiter) per caller, made at
// the caller's first request, in shards each under a read-write mutex: a
// request looks its bucket up and takes from it under the shard's read
// lock, so only making a bucket and dropping buckets take the write lock.
//
// Memory stays bounded by dropping buckets nobody needs: a bucket that is
// full again (Burst/PerSecond after its caller's last request) is the same
// as a new one, so dropping it changes nothing. A shard is swept for that
// each time it has doubled since its last sweep: it holds at most twice the
// buckets that were not full at its last sweep, or minSweep, whichever is
// more. A request takes from a bucket under the shard's read lock and a
// sweep runs under its write lock, so no request takes from a bucket being
// dropped.
type rateLimiter struct {
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

// bucket is one caller's token bucket.
type bucket struct {
	mu    sync.Mutex
	last  time.Time // the latest time given to lim; under mu
	limit RateLimit // lim's; under mu
	lim   *rate.Limiter
}

// newRateLimiter returns a rate limiter without buckets.
func newRateLimiter() *rateLimiter {
	r := &rateLimiter{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].buckets = make(map[string]*bucket)
		r.shards[i].sweepAt = minSweep
	}
	return r
}

// allow takes a request from key's bucket, of limit l, at now, or returns
// how long until the bucket holds one. A limit that limits nothing lets
// the request through without a bucket. l must be valid.
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
		if b.full(now) {
			delete(s.buckets, key)
		}
	}
	s.sweepAt = max(2*len(s.buckets), minSweep)
}

// full reports whether the bucket is full at now (or at the latest time it
// was given, if now is before).
func (b *bucket) full(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lim.TokensAt(later(now, b.last)) >= float64(b.lim.Burst())
}

// take takes a request from the bucket, of limit l, at now, or returns how
// long until it holds one; a bucket of another limit takes l from now on.
// Times are taken in order: a now before one already given (a goroutine
// that read the clock earlier, or a clock stepped back) counts as that
// one, which rate.Limiter needs to never give more than Burst plus
// PerSecond a second.
func (b *bucket) take(l RateLimit, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now = later(now, b.last)
	b.last = now
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
	// a request at now+wait is let through.
	for i := 0; i < 64 && b.lim.TokensAt(now.Add(wait)) < 1; i++ {
		wait++
	}
	return max(wait, time.Nanosecond), false
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// overRate counts a request of caller c at now against the caller's rate
// limit (its Rate, else the Proxy's DefaultRate) and, when the caller is
// over it, answers 429 rate_limit_error with retry-after (the whole seconds
// until its bucket holds a request) and x-should-retry by the rule of the
// pool's other refusals, and reports true. A limit that is not valid (an
// Identify's caller's, or DefaultRate) is answered 500 api_error and
// logged with its problems. Either way the request goes no further:
// nothing in the pool changes.
func (p *Proxy) overRate(w http.ResponseWriter, r *http.Request, c Caller, now time.Time) bool {
	l := c.Rate
	if l == nil {
		l = p.DefaultRate
	}
	if l == nil {
		return false
	}
	if !l.valid() {
		w.Header().Set("X-Should-Retry", "false")
		p.refuse(w, r, refuseBadRate, c.ID,
			"authpool proxy: the caller's rate limit is not valid, so the request was not sent: the proxy's operator must fix it",
			slog.String("error", errors.Join(l.problems()...).Error()))
		return true
	}
	wait, ok := p.rates.allow(c.ID, *l, now)
	if ok {
		return false
	}
	secs := retryHeaders(w.Header(), wait, p.Transport.retryWithin())
	p.refuse(w, r, refuseRateLimited, c.ID, fmt.Sprintf(
		"authpool: too many requests for %s (the pool's rate limit): retry in %s", strconv.Quote(c.ID), humanWait(secs)))
	return true
}
