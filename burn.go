package authpool

import (
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/store"
)

// minutely is a subscription's cost in each of the last store.BurnMinutes
// minutes, whose sum is its burn rate: a ring indexed by minute. Each slot
// is one word packing the slot's cost with the hour of its minute, so that
// noteUsage adds to it without the pool's lock and a reader sums it
// exactly: a slot whose minute is an hour or more old counts nothing, and
// is taken over by the next usage of its slot. The ring takes 480 bytes,
// however much is spent.
type minutely [store.BurnMinutes]atomic.Uint64

// A slot's word: the cost in its high minuteCostBits bits, its minute's
// hour (store.HourOf, modulo 2^minuteTagBits) in the low bits. A minute's
// cost saturates at minuteCostMax nanodollars (over $17,000 in one minute
// of one subscription).
const (
	minuteTagBits  = 20
	minuteTagMask  = 1<<minuteTagBits - 1
	minuteCostBits = 64 - minuteTagBits
	minuteCostMax  = 1<<minuteCostBits - 1
)

// split returns a minute's hour and its slot in the ring.
func split(minute int64) (hour int64, slot int) {
	hour = minute / store.BurnMinutes
	if minute%store.BurnMinutes < 0 {
		hour--
	}
	return hour, int(minute - hour*store.BurnMinutes)
}

// tagDistance returns how many hours the tag of hour a is after the tag of
// hour b, between -2^19 and 2^19: tags wrap, hours that far apart do not
// meet.
func tagDistance(a, b uint64) int64 {
	d := int64((a - b) & minuteTagMask)
	if d >= 1<<(minuteTagBits-1) {
		d -= 1 << minuteTagBits
	}
	return d
}

// add adds cost to the bucket of minute. A slot holding a later minute (an
// hour or more later) keeps it: minute is then older than the ring keeps.
func (r *minutely) add(minute int64, cost store.Nanodollars) {
	if cost <= 0 {
		return
	}
	hour, s := split(minute)
	tag := uint64(hour) & minuteTagMask
	w := &r[s]
	for {
		old := w.Load()
		oldCost := old >> minuteTagBits
		var next uint64
		switch d := tagDistance(tag, old&minuteTagMask); {
		case oldCost == 0 || d > 0: // empty, or an older minute's
			next = min(uint64(cost), minuteCostMax)<<minuteTagBits | tag
		case d == 0:
			next = min(oldCost+min(uint64(cost), minuteCostMax), minuteCostMax)<<minuteTagBits | tag
		default:
			return
		}
		if w.CompareAndSwap(old, next) {
			return
		}
	}
}

// load replaces the ring's contents with the store's minutes.
func (r *minutely) load(minutes []store.Minute) {
	for i := range r {
		r[i].Store(0)
	}
	for _, m := range minutes {
		r.add(m.Minute, m.Cost)
	}
}

// sum returns the cost of the 60 minutes up to now's, now's included (and
// of later minutes, which another process's clock may have written).
func (r *minutely) sum(now time.Time) store.Nanodollars {
	nowMinute := store.MinuteOf(now)
	nowHour, _ := split(nowMinute)
	nowTag := uint64(nowHour) & minuteTagMask
	var total uint64
	for s := range r {
		w := r[s].Load()
		cost := w >> minuteTagBits
		if cost == 0 {
			continue
		}
		hour := nowHour + tagDistance(w&minuteTagMask, nowTag)
		if hour*store.BurnMinutes+int64(s) > nowMinute-store.BurnMinutes {
			total += cost
		}
	}
	return store.Nanodollars(min(total, 1<<63-1))
}

// burnRate returns the subscription's spending rate at now in USD per
// hour: what it spent in the last 60 minutes, to the minute (the minute of
// now and the 59 before it).
func (sv *subView) burnRate(now time.Time) float64 { return sv.mins.sum(now).USD() }
