package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/authpool/authpool"
)

// Peer names a peer's policy: how another relay that pools Claude
// subscriptions places requests, modelled from what it documents
// (docs/simulator.md cites each). A Policy with a Peer runs it instead of
// an authpool.Pool.
//
// Every peer model knows only what the peer knows: which accounts answered
// a 429, and until when (the 429's anthropic-ratelimit-unified-reset); it
// has no budgets. It cools an account down until that reset, sends every
// request to the fallback API key while every account cools down (as a
// peer does with an API key configured below its accounts), and refuses
// the request without one.
type Peer string

// The peers' policies.
const (
	// PeerRoundRobin is CLIProxyAPI's default: each request goes to the
	// next account, in turn, among those not cooling down.
	PeerRoundRobin Peer = "round-robin"
	// PeerLRUSticky is claude-relay-service's: a session stays on the
	// account it was bound to for StickyTTL from the binding (not
	// renewed, its default); a new session, an expired binding or a
	// binding to an account cooling down goes to the least recently used
	// account.
	PeerLRUSticky Peer = "lru-sticky"
	// PeerWeightedRandom is Bifrost's: each request goes to an account
	// drawn at random, weighted by the accounts' weights (here every
	// subscription's weekly limit: equal weights).
	PeerWeightedRandom Peer = "weighted-random"
	// PeerFillFirst is CLIProxyAPI's fill-first strategy, and several
	// smaller relays': every request goes to the first account, in order,
	// not cooling down, so one account is used until it is limited.
	PeerFillFirst Peer = "fill-first"
)

// StickyTTL is how long PeerLRUSticky keeps a session bound to its
// account: claude-relay-service's STICKY_SESSION_TTL_HOURS default.
const StickyTTL = time.Hour

// Peers returns the peers' policies, named after their Peer.
func Peers() []Policy {
	return []Policy{
		{Name: string(PeerRoundRobin), Peer: PeerRoundRobin},
		{Name: string(PeerLRUSticky), Peer: PeerLRUSticky},
		{Name: string(PeerWeightedRandom), Peer: PeerWeightedRandom},
		{Name: string(PeerFillFirst), Peer: PeerFillFirst},
	}
}

// known says whether p is one of the peers.
func (p Peer) known() bool {
	switch p {
	case PeerRoundRobin, PeerLRUSticky, PeerWeightedRandom, PeerFillFirst:
		return true
	}
	return false
}

// binding is a session's account under PeerLRUSticky.
type binding struct {
	account int
	at      time.Time
}

// peerAllocator is a peer's policy over the run's subscriptions.
type peerAllocator struct {
	peer     Peer
	ids      []string // the subscriptions, in order
	weights  []float64
	fallback bool
	now      func() time.Time
	rng      *rand.Rand

	coolUntil []time.Time        // an account cools down until then
	lastUsed  []time.Time        // when an account last served (zero: never)
	index     map[string]int     // an account's position in ids
	cursor    int                // PeerRoundRobin's next turn
	bound     map[string]binding // PeerLRUSticky's sessions
	scratch   []int
}

// newPeer returns peer's allocator over the subscriptions ids, of equal
// weights, with the fallback API key if fallback; rng draws
// PeerWeightedRandom's choices.
func newPeer(peer Peer, ids []string, fallback bool, now func() time.Time, rng *rand.Rand) *peerAllocator {
	a := &peerAllocator{
		peer: peer, ids: ids, fallback: fallback, now: now, rng: rng,
		weights: make([]float64, len(ids)), coolUntil: make([]time.Time, len(ids)), lastUsed: make([]time.Time, len(ids)),
		index: make(map[string]int, len(ids)), bound: make(map[string]binding),
	}
	for i, id := range ids {
		a.index[id] = i
		a.weights[i] = 1
	}
	return a
}

// ready returns the accounts not cooling down, in order.
func (a *peerAllocator) ready(now time.Time) []int {
	a.scratch = a.scratch[:0]
	for i, until := range a.coolUntil {
		if !now.Before(until) {
			a.scratch = append(a.scratch, i)
		}
	}
	return a.scratch
}

// Place applies the peer's rule to the accounts not cooling down, and sends
// the request to the fallback (or refuses it) when none is left.
func (a *peerAllocator) Place(_ context.Context, client string) (Placement, error) {
	now := a.now()
	ready := a.ready(now)
	var p Placement
	pick := -1
	if a.peer == PeerLRUSticky {
		pick, p.Failover = a.sticky(client, now, ready)
	} else if len(ready) > 0 {
		pick = a.choose(ready)
	}
	switch {
	case pick >= 0:
		p.Account = a.ids[pick]
	case a.fallback:
		p.Account = authpool.FallbackID
	}
	return p, nil
}

// choose applies a per-request peer's rule to the ready accounts.
func (a *peerAllocator) choose(ready []int) int {
	switch a.peer {
	case PeerRoundRobin:
		i := a.cursor % len(ready)
		a.cursor = i + 1
		return ready[i]
	case PeerWeightedRandom:
		total := 0.0
		for _, i := range ready {
			total += a.weights[i]
		}
		x := a.rng.Float64() * total
		for _, i := range ready {
			if x -= a.weights[i]; x < 0 {
				return i
			}
		}
		return ready[len(ready)-1]
	default: // PeerFillFirst
		return ready[0]
	}
}

// sticky returns the client's account under PeerLRUSticky (-1: none
// ready), and whether it left an account cooling down it was bound to.
func (a *peerAllocator) sticky(client string, now time.Time, ready []int) (int, bool) {
	b, ok := a.bound[client]
	if ok && now.Sub(b.at) < StickyTTL {
		if now.Before(a.coolUntil[b.account]) {
			delete(a.bound, client) // bound to an account that cannot serve: bind anew
			return a.bindLRU(client, now, ready), true
		}
		return b.account, false
	}
	return a.bindLRU(client, now, ready), false
}

// bindLRU binds the client to the least recently used ready account (the
// first in order among equals) and returns it, or -1 if none is ready.
func (a *peerAllocator) bindLRU(client string, now time.Time, ready []int) int {
	if len(ready) == 0 {
		delete(a.bound, client)
		return -1
	}
	best := ready[0]
	for _, i := range ready[1:] {
		if a.lastUsed[i].Before(a.lastUsed[best]) {
			best = i
		}
	}
	a.bound[client] = binding{account: best, at: now}
	return best
}

// Limited cools the account down until the 429's reset.
func (a *peerAllocator) Limited(_ context.Context, id string, until time.Time, _ string) error {
	if i, ok := a.index[id]; ok && until.After(a.coolUntil[i]) {
		a.coolUntil[i] = until
	}
	return nil
}

// Served notes when the account last served.
func (a *peerAllocator) Served(_ context.Context, _, account string, _ float64) error {
	if i, ok := a.index[account]; ok {
		a.lastUsed[i] = a.now()
	}
	return nil
}

// Release forgets the session's binding.
func (a *peerAllocator) Release(_ context.Context, client string) error {
	delete(a.bound, client)
	return nil
}

// Tick samples the accounts cooling down; a peer has no rebalancing.
func (a *peerAllocator) Tick(context.Context) (Sample, error) {
	now := a.now()
	return Sample{Limited: len(a.ids) - len(a.ready(now))}, nil
}

func (a *peerAllocator) Close(context.Context) error { return nil }
