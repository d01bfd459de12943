package authpool

// RateBuckets returns how many rate limit buckets p holds, for the tests of
// their memory bound.
func RateBuckets(p *Pool) int {
	return p.rates.size()
}
