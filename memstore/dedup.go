package memstore

import (
	"hash/maphash"
	"time"
)

// dedup remembers usage IDs in two generations: an ID lands in the current
// one; when a generation's time is up the current becomes the previous and
// the previous is dropped. An ID is thus remembered for at least one
// generation and at most two. It keeps a 128-bit hash of each ID rather than
// the ID, so it allocates nothing per ID but the map's growth, and keeps no
// caller's memory alive.
type dedup struct {
	seeds     [2]maphash.Seed
	cur, prev map[[2]uint64]struct{}
	rotateAt  int64         // Unix nanoseconds when cur becomes prev
	span      time.Duration // length of a generation: the longest Remember seen
}

func newDedup() dedup {
	return dedup{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		cur:   make(map[[2]uint64]struct{}),
	}
}

// add records id at now and reports whether it was new.
func (d *dedup) add(id string, now int64, remember time.Duration) bool {
	d.span = max(d.span, remember)
	if now >= d.rotateAt {
		if now >= d.rotateAt+int64(d.span) {
			d.prev = nil // both generations are past
		} else {
			d.prev = d.cur
		}
		d.cur = make(map[[2]uint64]struct{}, len(d.cur))
		d.rotateAt = now + int64(d.span)
	}
	key := [2]uint64{maphash.String(d.seeds[0], id), maphash.String(d.seeds[1], id)}
	if _, ok := d.cur[key]; ok {
		return false
	}
	if _, ok := d.prev[key]; ok {
		return false
	}
	d.cur[key] = struct{}{}
	return true
}
