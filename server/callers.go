package server

import (
	"crypto/sha256"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/store"
)

// A server knows callers two ways. The config file's are the proxy's
// Identify (fileCallers): in the process, their caps held in its memory.
// Those the admin API adds are kept in the store (proxy.StoreCallers),
// shared by every server on it, their spending counted there. The proxy
// looks a key up among the file's first.

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

// callerStoreOf returns st as a store.CallerStore when it keeps callers:
// when it, and every store it wraps (a seal.Store's Unwrap), is one. A
// seal.Store claims the interface whatever it wraps, so the wrapped store
// decides.
func callerStoreOf(st store.Store) (store.CallerStore, bool) {
	cs, ok := st.(store.CallerStore)
	for inner := st; ok; {
		w, wraps := inner.(interface{ Unwrap() store.Store })
		if !wraps {
			break
		}
		inner = w.Unwrap()
		_, ok = inner.(store.CallerStore)
	}
	return cs, ok
}

// storedCallers are the callers kept in the store, as the proxy, the
// reports and the admin API use them; the zero value is a store without
// callers.
type storedCallers struct {
	store  store.CallerStore   // nil: the store keeps none
	proxy  *proxy.StoreCallers // the proxy's Stored
	report *callerreport.Source
}

// newStoredCallers returns the callers of st, when it keeps any: the
// proxy's, remembering usage IDs as the pool of cfg does, and the reports',
// at now with px's refusals.
func newStoredCallers(st store.Store, cfg authpool.Config, px *proxy.Proxy, now func() time.Time) storedCallers {
	cs, ok := callerStoreOf(st)
	if !ok {
		return storedCallers{}
	}
	cfg = cfg.WithDefaults()
	return storedCallers{
		store: cs,
		proxy: &proxy.StoreCallers{Store: cs, Remember: time.Duration(cfg.RememberUsageIDs),
			RememberBytes: int64(cfg.UsageIDMemoryMiB) << 20},
		report: &callerreport.Source{Store: cs, Now: now, Refusals: px.CallerRefusals},
	}
}
