package memstore

import (
	"encoding/binary"
	"hash/maphash"
	"time"
)

// idBytes is what one remembered usage ID costs usageIDs, in bytes of heap:
// its entry in the set (a 128-bit hash, 17 bytes a slot, in tables kept at
// most 7/8 full) and its place in the heap (the hash and the usage time, 24
// bytes). It is measured at the bound with IDs coming and going, the worst
// case, when the set has grown under the churn to about twice its size
// filled once (BenchmarkUsageIDsHeap: 108 to 116 bytes per ID in 10 runs,
// Go 1.26; about 65 right after filling), and rounded up with a margin, so
// that RememberBytes bounds the heap. Nothing else grows with the IDs, whatever
// their usage times: no group, no node, no per-minute overhead; the heap's
// blocks are full but the last (and one spare, 96 KiB a store).
const idBytes = 128

// forgetPerCall is the most IDs one add forgets: enough to make room for
// the new one and to catch up, a few at a time, after the budget shrank or
// after a quiet spell aged many; few enough that a call never sweeps.
const forgetPerCall = 4

// idKey is a usage ID's 128-bit hash: two maphashes of random seeds. The
// store keeps it rather than the ID, so it holds no caller's memory and
// allocates nothing per ID but its slot. It is bytes, not two uint64s, so
// that a slot of the set is 17 bytes, not 24: a map pads a slot whose value
// is empty to the alignment of its key.
type idKey [16]byte

// keyOf returns the idKey of id.
func (u *usageIDs) keyOf(id string) idKey {
	var k idKey
	binary.LittleEndian.PutUint64(k[:8], maphash.String(u.seeds[0], id))
	binary.LittleEndian.PutUint64(k[8:], maphash.String(u.seeds[1], id))
	return k
}

// usageIDs remembers the usage IDs added, within a bound on their number,
// each with its usage's time, and keeps the horizon: every ID added whose
// usage time is after it is still remembered (see store.Store.AddUsage).
// It forgets the ID of the earliest usage time, as redisstore does, from
// the top of a min-heap: each call does O(log n) work whatever it
// remembers, in whatever order the usage times arrive.
type usageIDs struct {
	seeds   [2]maphash.Seed
	keys    map[idKey]struct{} // the remembered IDs, those in order
	order   idHeap             // the remembered IDs by usage time, earliest on top
	horizon int64              // Unix nanoseconds; 0 before anything was forgotten
}

func newUsageIDs() usageIDs {
	return usageIDs{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		keys:  make(map[idKey]struct{}),
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
// returns the verdict and the horizon it was judged against (for a new
// usage, the horizon after it). Only a new usage changes anything: it
// first forgets up to forgetPerCall IDs, earliest usage time first as
// redisstore does, those past the budget or at or before now - remember. So the
// horizon passes a remembered ID only when it is at or before
// now - remember (it goes in the next calls), or when the one forgotten to
// make room is later than the new usage, whose ID is then remembered at or
// before the horizon: it stays a duplicate until it is forgotten in turn.
func (u *usageIDs) add(id string, t, now int64, remember time.Duration, budget int64) (verdict, int64) {
	key := u.keyOf(id)
	if _, ok := u.keys[key]; ok {
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
		top := u.order.top()
		if u.order.len() < limit && top.t > cut {
			break
		}
		u.order.pop()
		delete(u.keys, top.k)
		u.horizon = max(u.horizon, top.t)
	}
	u.horizon = max(u.horizon, cut)
	u.keys[key] = struct{}{}
	u.order.push(idEntry{t: t, k: key})
	return idNew, u.horizon
}

// idEntry is a remembered ID in the heap: its hash and its usage time.
type idEntry struct {
	t int64 // usage time, Unix nanoseconds
	k idKey
}

// heapShift sets how many entries one block of an idHeap holds: 4096 (96
// KiB).
const (
	heapShift = 12
	heapChunk = 1 << heapShift
	heapMask  = heapChunk - 1
)

// idHeap is a binary min-heap of entries by time, kept in fixed blocks
// rather than one slice: push and pop are O(log n) and never copy what it
// holds (a slice grown by doubling would copy it all at once; only the
// first block grows so, up to its 96 KiB, so that a small heap stays
// small). Entry i is blocks[i>>heapShift][i&heapMask]; its children are
// 2i+1 and 2i+2.
type idHeap struct {
	blocks [][]idEntry // all full but the last, which is not empty unless it is the first
	n      int
	spare  []idEntry // an emptied block, kept for the next push to fill
}

func (h *idHeap) len() int { return h.n }

func (h *idHeap) at(i int) *idEntry { return &h.blocks[i>>heapShift][i&heapMask] }

// top returns the entry of the earliest time; the heap must not be empty.
func (h *idHeap) top() idEntry { return h.blocks[0][0] }

func (h *idHeap) push(e idEntry) {
	if len(h.blocks) == 0 || len(h.blocks[len(h.blocks)-1]) == heapChunk {
		var b []idEntry
		switch {
		case len(h.blocks) == 0:
			// The first block grows by appending, up to heapChunk.
		case h.spare != nil:
			b, h.spare = h.spare, nil
		default:
			b = make([]idEntry, 0, heapChunk)
		}
		h.blocks = append(h.blocks, b)
	}
	last := &h.blocks[len(h.blocks)-1]
	*last = append(*last, e)
	i := h.n
	h.n++
	// Sift up: move the parents of a later time down into the hole.
	for i > 0 {
		p := (i - 1) / 2
		pe := h.at(p)
		if pe.t <= e.t {
			break
		}
		*h.at(i) = *pe
		i = p
	}
	*h.at(i) = e
}

// pop drops the entry of the earliest time; the heap must not be empty.
func (h *idHeap) pop() {
	h.n--
	lb := len(h.blocks) - 1
	last := &h.blocks[lb]
	e := (*last)[len(*last)-1]
	*last = (*last)[:len(*last)-1]
	if len(*last) == 0 && lb > 0 { // the first block stays, even empty
		h.spare = *last
		h.blocks[lb] = nil
		h.blocks = h.blocks[:lb]
	}
	if h.n == 0 {
		return
	}
	// Sift down from the root: move the earlier child up into the hole.
	i := 0
	for {
		c := 2*i + 1
		if c >= h.n {
			break
		}
		ce := h.at(c)
		if c+1 < h.n {
			if re := h.at(c + 1); re.t < ce.t {
				c, ce = c+1, re
			}
		}
		if e.t <= ce.t {
			break
		}
		*h.at(i) = *ce
		i = c
	}
	*h.at(i) = e
}
