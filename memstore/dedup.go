package memstore

import (
	"context"
	"hash/maphash"
	"time"
)

// dedup remembers Claim keys, each until its own remembrance ends: from the
// Now it was added at, for its Remember, judged by the Now of later calls.
// (Usage IDs, which come with every request, are remembered in a bounded
// usageIDs instead.)
// It keeps a 128-bit hash of each ID rather than the ID, so it allocates
// nothing per ID but the map's growth, and keeps no caller's memory alive.
//
// IDs past their end are dropped by a sweep that runs when the map has grown
// to twice what the previous sweep left, and copies what is still remembered
// into a map of its size: add is O(1) amortized, and the map holds at most
// twice the IDs remembered at once (or minSweep). Claims are few (one per
// event and per credential refresh, shared by the pools), so a sweep copies
// about minSweep keys: microseconds, not a stall.
type dedup struct {
	seeds   [2]maphash.Seed
	until   map[[2]uint64]int64 // ID hash -> Unix nanoseconds when it is forgotten
	sweepAt int                 // len(until) at which add sweeps
}

// minSweep is the size below which dedup does not sweep.
const minSweep = 1024

func newDedup() dedup {
	return dedup{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		until:   make(map[[2]uint64]int64),
		sweepAt: minSweep,
	}
}

// add remembers id from now for remember and reports whether it was new;
// an id still remembered at now is left as it was.
func (d *dedup) add(id string, now int64, remember time.Duration) bool {
	key := d.key(id)
	end, ok := d.until[key]
	if ok && now < end {
		return false
	}
	if !ok && len(d.until) >= d.sweepAt {
		d.sweep(now)
	}
	d.until[key] = now + int64(remember)
	return true
}

func (d *dedup) key(id string) [2]uint64 {
	return [2]uint64{maphash.String(d.seeds[0], id), maphash.String(d.seeds[1], id)}
}

// sweep drops the IDs forgotten at now.
func (d *dedup) sweep(now int64) {
	kept := 0
	for _, end := range d.until {
		if now < end {
			kept++
		}
	}
	live := make(map[[2]uint64]int64, kept)
	for key, end := range d.until {
		if now < end {
			live[key] = end
		}
	}
	d.until = live
	d.sweepAt = max(2*kept, minSweep)
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims.add(key, unixNano(now), until.Sub(now)), nil
}
