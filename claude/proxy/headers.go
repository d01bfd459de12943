package proxy

// The prefixes of the rate-limit headers (docs/formats.md §2): the Proxy
// passes them on to its callers, the Transport reads the unified ones.
const (
	ratelimitPrefix = "anthropic-ratelimit-"
	unifiedPrefix   = "anthropic-ratelimit-unified-"
)
