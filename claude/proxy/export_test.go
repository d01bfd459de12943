package proxy

import "time"

// RateLimiter is a Proxy's rate limiter, for the tests of its buckets.
type RateLimiter struct{ r *rateLimiter }

// NewRateLimiter returns a rate limiter without buckets.
func NewRateLimiter() RateLimiter { return RateLimiter{newRateLimiter()} }

// Allow takes a request from key's bucket, of limit l, at now, or returns
// how long until the bucket holds one.
func (r RateLimiter) Allow(key string, l RateLimit, now time.Time) (time.Duration, bool) {
	return r.r.allow(key, l, now)
}

// Buckets returns how many buckets r holds.
func (r RateLimiter) Buckets() int { return r.r.size() }
