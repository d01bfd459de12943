package server

import (
	"crypto/sha256"

	"github.com/authpool/authpool/claude/proxy"
)

// callerSource tells the proxy whose key a request carries: the proxy's
// Identify. The config file's callers are one source; callers kept in the
// store, managed at run time, are to be another.
type callerSource interface {
	Identify(key string) (proxy.Caller, bool)
}

// fileCallers are the callers a config file lists, found by the SHA-256 of
// their keys: no key's bytes are compared twice.
type fileCallers map[[sha256.Size]byte]proxy.Caller

// newFileCallers indexes callers, which proxy.ValidateCallers has checked
// (unique keys).
func newFileCallers(callers []proxy.Caller) fileCallers {
	m := make(fileCallers, len(callers))
	for _, c := range callers {
		m[sha256.Sum256([]byte(c.Key.Reveal()))] = c
	}
	return m
}

// Identify returns the caller whose key is key.
func (f fileCallers) Identify(key string) (proxy.Caller, bool) {
	c, ok := f[sha256.Sum256([]byte(key))]
	return c, ok
}
