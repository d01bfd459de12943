package transcript

// This file de-duplicates the usage lines as ccusage 20.0.24 does
// (docs/formats.md §3, with what the binary showed beyond it).
//
// Both readers keep a list of entries in the order each request was first
// seen; a later line of the same request that wins replaces the entry in
// place (its data, not its place). The entry reader's key is the message id
// with the request id (absent counting as its own value), or failing that
// the message id and the time, when either line is a sidechain's (a
// sidechain replaying its parent's message under a new request id). The
// daily reader's key is the message id with the request id or, without
// one, with the time; failing that the message id alone, at any time, when
// either line is a sidechain's. The winner is the non-sidechain line, then
// the one with more tokens, then (daily reader only) the dearer, then the
// one with a speed; on a tie the entry stays. Lines without a message id
// are never merged. Each reader indexes its entries by message id only: an
// entry's key can change when it is replaced, but no two entries ever have
// the same key, since a line looks for its key before anything else.

// txEnt is an entry reader's entry (64 bytes).
type txEnt struct {
	ts     int64
	cost   float64
	tok    [5]uint32
	model  int32
	file   int32
	flags  uint16
	kExact txKey
}

// txDay is a daily reader's entry (64 bytes).
type txDay struct {
	ts    int64
	cost  float64
	tok   [5]uint32
	model int32
	flags uint16
	kDay  txKey
}

func txTotal(t *[5]uint32) uint64 {
	return uint64(t[0]) + uint64(t[1]) + uint64(t[2]) + uint64(t[3]) + uint64(t[4])
}

// txIndex maps a key to the entries filed under it, in filing order (most
// keys have one).
type txIndex struct {
	first map[txKey]int32
	more  map[txKey][]int32
}

func (x *txIndex) find(k txKey, match func(int32) bool) int32 {
	i, ok := x.first[k]
	if !ok {
		return -1
	}
	if match(i) {
		return i
	}
	for _, i := range x.more[k] {
		if match(i) {
			return i
		}
	}
	return -1
}

func (x *txIndex) add(k txKey, i int32) {
	if _, ok := x.first[k]; !ok {
		x.first[k] = i
	} else {
		x.more[k] = append(x.more[k], i)
	}
}

// txMerger de-duplicates and accounts the records, in ccusage's order.
type txMerger struct {
	run      *txRun
	ents     []txEnt
	entMsg   txIndex          // message id → its entries, in order
	resets   map[int32]int64  // entry → its reset time, for the few that have one
	recent   map[int32]string // entry → its pool ID, for the last week's
	days     []txDay
	dayMsg   txIndex
	stats    Stats
	problems []Problem
}

func newTxMerger(run *txRun) *txMerger {
	return &txMerger{
		run: run, resets: make(map[int32]int64), recent: make(map[int32]string),
		entMsg: txIndex{make(map[txKey]int32), make(map[txKey][]int32)},
		dayMsg: txIndex{make(map[txKey]int32), make(map[txKey][]int32)},
	}
}

func (m *txMerger) merge(b *txBatch) {
	s, t := &m.stats, b.stats
	s.Files += t.Files
	s.Bytes += t.Bytes
	s.Lines += t.Lines
	s.UsageLines += t.UsageLines
	s.Skipped += t.Skipped
	s.Malformed += t.Malformed
	s.LongLines += t.LongLines
	s.Unreadable += t.Unreadable
	for _, p := range b.problems {
		if len(m.problems) < m.run.opts.MaxProblems {
			m.problems = append(m.problems, p)
		}
	}
	for i := range b.recs {
		r := &b.recs[i]
		if r.flags&txForEntries != 0 {
			m.entry(r)
		}
		if r.flags&txForDaily != 0 {
			m.daily(r)
		}
	}
}

// entry files r with the entry reader's entries.
func (m *txMerger) entry(r *txRec) {
	m.stats.Entries++
	at := int32(-1)
	if r.flags&txHasMsg != 0 {
		// At most one entry has a given key at a time: whenever an entry
		// takes a key, no other had it (the lookup by key comes first).
		at = m.entMsg.find(r.kMsg, func(i int32) bool { return m.ents[i].kExact == r.kExact })
		if at < 0 {
			// A sidechain's replay of a message under another request id,
			// at the same time.
			side := r.flags&txSide != 0
			at = m.entMsg.find(r.kMsg, func(i int32) bool {
				e := &m.ents[i]
				return e.ts == r.ts && (side || e.flags&txSide != 0)
			})
		}
	}
	if at >= 0 {
		m.stats.Duplicates++
		if e := &m.ents[at]; txWins(r, e.tok, e.flags, e.cost, false) {
			m.setEntry(at, r)
		}
		return
	}
	at = int32(len(m.ents))
	m.ents = append(m.ents, txEnt{})
	m.setEntry(at, r)
	if r.flags&txHasMsg != 0 {
		m.entMsg.add(r.kMsg, at)
	}
}

func (m *txMerger) setEntry(i int32, r *txRec) {
	m.ents[i] = txEnt{ts: r.ts, cost: r.cost, tok: r.tok, model: r.model, file: r.file, flags: r.flags, kExact: r.kExact}
	if r.flags&txHasReset != 0 {
		m.resets[i] = r.reset
	} else {
		delete(m.resets, i)
	}
	if r.id != "" {
		m.recent[i] = r.id
	} else {
		delete(m.recent, i)
	}
}

// txWins reports whether line r replaces the entry with tok, flags and
// cost (cost breaks ties when byCost, as in the daily reader).
func txWins(r *txRec, tok [5]uint32, flags uint16, cost float64, byCost bool) bool {
	if rs, es := r.flags&txSide != 0, flags&txSide != 0; rs != es {
		return es
	}
	if rt, et := r.total(), txTotal(&tok); rt != et {
		return rt > et
	}
	if byCost && r.cost != cost {
		return r.cost > cost
	}
	return r.flags&txHasSpeed != 0 && flags&txHasSpeed == 0
}

// daily files r with the daily reader's entries.
func (m *txMerger) daily(r *txRec) {
	m.stats.DailyEntries++
	at := int32(-1)
	if r.flags&txHasMsg != 0 {
		at = m.dayMsg.find(r.kMsg, func(i int32) bool { return m.days[i].kDay == r.kDay })
		if at < 0 {
			side := r.flags&txSide != 0
			at = m.dayMsg.find(r.kMsg, func(i int32) bool { return side || m.days[i].flags&txSide != 0 })
		}
	}
	if at >= 0 {
		m.stats.DailyDuplicates++
		if d := &m.days[at]; txWins(r, d.tok, d.flags, d.cost, true) {
			m.setDay(at, r)
		}
		return
	}
	at = int32(len(m.days))
	m.days = append(m.days, txDay{})
	m.setDay(at, r)
	if r.flags&txHasMsg != 0 {
		m.dayMsg.add(r.kMsg, at)
	}
}

func (m *txMerger) setDay(i int32, r *txRec) {
	m.days[i] = txDay{ts: r.ts, cost: r.cost, tok: r.tok, model: r.model, flags: r.flags, kDay: r.kDay}
}
