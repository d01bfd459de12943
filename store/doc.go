// Package store defines the records an authpool keeps and the Store interface
// that persists them.
//
// A Store stores and answers atomically; it never chooses. Selection, health,
// thresholds and rebalancing are computed by package authpool, the same for
// every Store. What a Store must guarantee is that the few operations that
// protect a limit (a subscription's capacity, its status, a usage counted
// once) are atomic: one critical section in memory, one round trip in Redis.
//
// A Store may also keep a proxy's callers and count what they spend
// (CallerStore), so that proxies sharing the store share its callers and
// hold their caps together.
//
// Package storetest holds the conformance suite every implementation must
// pass; package memstore is the in-memory implementation.
package store
