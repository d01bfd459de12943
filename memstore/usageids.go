package memstore

import (
	"hash/maphash"
	"time"
)

// idBytes is what one remembered usage ID costs usageIDs, in bytes of heap:
// its map entry (a 128-bit hash and a time, 24 bytes, in tables kept at
// most 7/8 full) and its place in the queue (16 bytes). It is measured at
// the bound with IDs coming and going, the worst case, when the map has
// grown under the churn to about twice its size filled once
// (BenchmarkUsageIDsHeap: 143 bytes per ID, Go 1.26; about 80 right after
// filling), and rounded up, so that RememberBytes bounds the heap.
const idBytes = 144

// forgetPerCall is the most IDs one add forgets: enough to make room for
// the new one and to catch up, a few at a time, after the budget shrank or
// after a quiet spell aged many; few enough that a call never sweeps.
const forgetPerCall = 4

// idKey is a usage ID's 128-bit hash: two maphashes of random seeds. The
// store keeps it rather than the ID, so it holds no caller's memory and
// allocates nothing per ID but its slot.
type idKey [2]uint64

// usageIDs remembers the usage IDs added, within a bound on their number,
// each with its usage's time, and keeps the horizon: every ID added whose
// usage time is after it is still remembered (see store.Store.AddUsage).
// It forgets in the order it remembered, from the front of a queue, so
// each call does O(1) work whatever it remembers.
type usageIDs struct {
	seeds   [2]maphash.Seed
	times   map[idKey]int64 // remembered ID -> usage time, Unix nanoseconds
	order   queue           // the keys of times, in the order they were added
	horizon int64           // Unix nanoseconds; 0 before anything was forgotten
}

func newUsageIDs() usageIDs {
	return usageIDs{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		times: make(map[idKey]int64),
	}
}

// verdict is what usageIDs says of a usage.
type verdict int

const (
	idNew       verdict = iota // counted, and now remembered
	idDuplicate                // remembered: already counted
	idForgotten                // not remembered, at or before the horizon
)

// add judges the usage of id at t (Unix nanoseconds), recorded at now with
// remember and a budget of budget bytes, and remembers it if it is new. It
// returns the verdict and the horizon it was judged against. Only a new
// usage changes anything: it first forgets up to forgetPerCall of the
// oldest IDs, those past the budget or at or before now - remember.
func (u *usageIDs) add(id string, t, now int64, remember time.Duration, budget int64) (verdict, int64) {
	key := idKey{maphash.String(u.seeds[0], id), maphash.String(u.seeds[1], id)}
	if _, ok := u.times[key]; ok {
		return idDuplicate, u.horizon
	}
	cut := now - int64(remember)
	horizon := max(u.horizon, cut)
	if t <= horizon {
		return idForgotten, horizon
	}
	limit := max(int(budget/idBytes), 1)
	for range forgetPerCall {
		if u.order.len() == 0 {
			break
		}
		front := u.order.front()
		ft := u.times[front]
		if u.order.len() < limit && ft > cut {
			break
		}
		u.order.pop()
		delete(u.times, front)
		u.horizon = max(u.horizon, ft)
	}
	u.horizon = max(u.horizon, cut)
	u.times[key] = t
	u.order.push(key)
	return idNew, u.horizon
}

// queueChunk is how many keys one block of a queue holds (64 KiB).
const queueChunk = 4096

// queue is a FIFO of keys in fixed blocks: push and pop are O(1) and never
// copy what it holds (a ring grown by doubling would copy it all at once).
type queue struct {
	blocks [][]idKey // blocks[0][head:] is the front, the last block the back
	head   int
	n      int
	spare  []idKey // an emptied block, kept for the next push to fill
}

func (q *queue) len() int { return q.n }

// front returns the oldest key; the queue must not be empty.
func (q *queue) front() idKey { return q.blocks[0][q.head] }

func (q *queue) push(k idKey) {
	if len(q.blocks) == 0 || len(q.blocks[len(q.blocks)-1]) == queueChunk {
		b := q.spare
		if b == nil {
			b = make([]idKey, 0, queueChunk)
		}
		q.spare = nil
		q.blocks = append(q.blocks, b)
	}
	last := &q.blocks[len(q.blocks)-1]
	*last = append(*last, k)
	q.n++
}

// pop drops the oldest key; the queue must not be empty.
func (q *queue) pop() {
	q.head++
	q.n--
	if q.head < queueChunk && q.n > 0 {
		return
	}
	// The front block is used up, or it is the only one and now empty.
	q.spare = q.blocks[0][:0]
	q.blocks[0] = nil
	q.blocks = q.blocks[1:]
	q.head = 0
}
