package claude

import "time"

// CacheTTL returns the time to live of the prompt cache a response with
// these counts wrote, for authpool.Usage.CacheTTL: an hour when any of its
// cache writes were 1-hour ones (cache_creation.ephemeral_1h_input_tokens),
// else 0, which the pool reads as its idle time (the API's default cache
// lives 5 minutes). The client then holds its slot on the subscription as
// long as the cache it paid for lives.
func (c Counts) CacheTTL() time.Duration {
	if c.CacheWrite1h > 0 {
		return time.Hour
	}
	return 0
}
