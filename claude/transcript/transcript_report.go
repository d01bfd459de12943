package transcript

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/authpool/authpool/claude"
)

// This file accounts the de-duplicated entries (transcript_dedup.go) as
// ccusage reports them (docs/formats.md §4): per hour, block and session from
// the entry reader's, per day from the daily reader's.

// txSum adds up tokens and cost.
type txSum struct {
	tok  UsageTokens
	cost float64
}

func (s *txSum) add(tok *[5]uint32, cost float64) {
	s.tok.InputTokens += int64(tok[0])
	s.tok.OutputTokens += int64(tok[1])
	s.tok.CacheCreationInputTokens += int64(tok[2]) + int64(tok[3])
	s.tok.CacheReadInputTokens += int64(tok[4])
	s.cost += cost
}

// txModelSum is a day's or a session's usage, with its per-model shares.
type txModelSum struct {
	txSum
	models []string
	byName map[string]int
	shares []ModelBreakdown
}

func (s *txModelSum) add(name string, tok *[5]uint32, cost float64, missing bool) {
	s.txSum.add(tok, cost)
	if name == "" {
		return
	}
	i, ok := s.byName[name]
	if !ok {
		if s.byName == nil {
			s.byName = make(map[string]int)
		}
		i = len(s.shares)
		s.byName[name] = i
		s.models = append(s.models, name)
		s.shares = append(s.shares, ModelBreakdown{ModelName: name})
	}
	b := &s.shares[i]
	b.InputTokens += int64(tok[0])
	b.OutputTokens += int64(tok[1])
	b.CacheCreationTokens += int64(tok[2]) + int64(tok[3])
	b.CacheReadTokens += int64(tok[4])
	b.Cost += cost
	b.MissingPricing = b.MissingPricing || missing
}

func (s *txModelSum) summary() UsageSummary {
	slices.SortStableFunc(s.shares, func(a, b ModelBreakdown) int { return cmp.Compare(b.Cost, a.Cost) })
	models := s.models
	if models == nil {
		models = []string{}
	}
	shares := s.shares
	if shares == nil {
		shares = []ModelBreakdown{}
	}
	return UsageSummary{
		InputTokens: s.tok.InputTokens, OutputTokens: s.tok.OutputTokens,
		CacheCreationTokens: s.tok.CacheCreationInputTokens, CacheReadTokens: s.tok.CacheReadInputTokens,
		TotalTokens: s.tok.Total(), TotalCost: s.cost, ModelsUsed: models, ModelBreakdowns: shares,
	}
}

// txTotals adds up rows as ccusage's totals do.
func txTotals(rows []UsageSummary) UsageTotals {
	var t UsageTotals
	unpriced := make(map[string]bool)
	for _, r := range rows {
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.CacheCreationTokens += r.CacheCreationTokens
		t.CacheReadTokens += r.CacheReadTokens
		t.TotalCost += r.TotalCost
		for _, b := range r.ModelBreakdowns {
			if b.MissingPricing && !unpriced[b.ModelName] {
				unpriced[b.ModelName] = true
				t.UnpricedModels = append(t.UnpricedModels, b.ModelName)
			}
		}
	}
	t.TotalTokens = t.InputTokens + t.OutputTokens + t.CacheCreationTokens + t.CacheReadTokens
	slices.Sort(t.UnpricedModels)
	return t
}

// display is the name ccusage lists a model under: <model>-fast in fast
// mode, nothing for <synthetic> or no model.
func (m *txMerger) display(model int32, flags uint16) string {
	if model < 0 {
		return ""
	}
	name := m.run.models.list[model].display
	if name != "" && flags&txFast != 0 {
		name += "-fast"
	}
	return name
}

// report accounts the de-duplicated entries.
func (m *txMerger) report() *Report {
	r := &Report{Stats: m.stats, Problems: m.problems}
	missing, estimated := make(map[int32]bool), make(map[int32]bool)
	order := make([]int32, len(m.ents))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(m.ents[a].ts, m.ents[b].ts) })
	r.Blocks = m.blocks(order)
	r.Hours = m.hours(order)
	r.Sessions, r.SessionTotals = m.sessions(missing, estimated)
	r.Days, r.DayTotals = m.daysReport(missing, estimated)
	for _, i := range order {
		id, ok := m.recent[i]
		if !ok {
			continue
		}
		e := &m.ents[i]
		e2 := Entry{ID: id, Time: time.UnixMilli(e.ts).UTC(), CostUSD: e.cost,
			Counts: claude.Counts{Input: int64(e.tok[0]), Output: int64(e.tok[1]), CacheWrite5m: int64(e.tok[2]),
				CacheWrite1h: int64(e.tok[3]), CacheRead: int64(e.tok[4]), Fast: e.flags&txFast != 0},
			Session: m.run.sessions[m.run.files[e.file].session].id}
		if e.model >= 0 {
			e2.Model = m.run.models.list[e.model].name
			if e.flags&txEstimated != 0 {
				e2.PricedAs = m.run.models.list[e.model].pricedAs
			}
		}
		r.Recent = append(r.Recent, e2)
	}
	for id := range missing {
		r.MissingPrices = append(r.MissingPrices, m.run.models.list[id].name)
	}
	slices.Sort(r.MissingPrices)
	for id := range estimated {
		r.EstimatedPrices = append(r.EstimatedPrices, m.run.models.list[id].name)
	}
	slices.Sort(r.EstimatedPrices)
	return r
}

// blocks groups the entries, in time order, into blocks (docs/formats.md §4).
func (m *txMerger) blocks(order []int32) []UsageBlock {
	length := m.run.opts.BlockLength.Milliseconds()
	var blocks []UsageBlock
	var cur []int32
	var start int64
	for _, i := range order {
		ts := m.ents[i].ts
		if len(cur) > 0 {
			last := m.ents[cur[len(cur)-1]].ts
			if ts-start > length || ts-last > length {
				blocks = append(blocks, m.block(start, cur))
				cur = cur[:0]
				if ts-last > length {
					gap := time.UnixMilli(last + length).UTC()
					blocks = append(blocks, UsageBlock{ID: "gap-" + txMillis(gap), StartTime: gap, EndTime: time.UnixMilli(ts).UTC(),
						IsGap: true, Models: []string{}})
				}
				start = txFloorHour(ts)
			}
		} else {
			start = txFloorHour(ts)
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		blocks = append(blocks, m.block(start, cur))
	}
	// A block starts on the hour, so it can start before the gap ending
	// at its first entry: ccusage orders them by start.
	slices.SortStableFunc(blocks, func(a, b UsageBlock) int { return a.StartTime.Compare(b.StartTime) })
	return blocks
}

func txFloorHour(ms int64) int64 {
	const hour = 3600_000
	h := ms / hour
	if ms%hour < 0 {
		h--
	}
	return h * hour
}

// block sums the entries of one block.
func (m *txMerger) block(start int64, entries []int32) UsageBlock {
	length := m.run.opts.BlockLength.Milliseconds()
	var s txSum
	b := UsageBlock{Entries: len(entries), Models: []string{}}
	seen := make(map[string]bool)
	var reset int64
	for _, i := range entries {
		e := &m.ents[i]
		s.add(&e.tok, e.cost)
		if name := m.display(e.model, e.flags); name != "" && !seen[name] {
			seen[name] = true
			b.Models = append(b.Models, name)
		}
		if t, ok := m.resets[i]; ok && reset == 0 {
			reset = t
		}
	}
	first, last := m.ents[entries[0]].ts, m.ents[entries[len(entries)-1]].ts
	end := start + length
	b.ID = txMillis(time.UnixMilli(start))
	b.StartTime, b.EndTime, b.ActualEndTime = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC(), time.UnixMilli(last).UTC()
	b.TokenCounts, b.TotalTokens, b.CostUSD = s.tok, s.tok.Total(), s.cost
	if reset != 0 {
		b.UsageLimitResetTime = time.UnixMilli(reset).UTC()
	}
	if now := m.run.opts.Now; !now.IsZero() {
		nowMs := now.UnixMilli()
		b.IsActive = max(nowMs-last, 0) < length && nowMs < end
		if minutes := float64(last-first) / 60_000; b.IsActive && minutes > 0 {
			b.BurnRate = &BurnRate{
				TokensPerMinute:             float64(b.TotalTokens) / minutes,
				TokensPerMinuteForIndicator: float64(s.tok.InputTokens+s.tok.OutputTokens) / minutes,
				CostPerHour:                 s.cost / minutes * 60,
			}
			remaining := math.Round(float64(max(end-nowMs, 0)) / 60_000)
			b.Projection = &Projection{
				TotalTokens:      int64(math.Round(float64(b.TotalTokens) + b.BurnRate.TokensPerMinute*remaining)),
				TotalCost:        math.Round((s.cost+b.BurnRate.CostPerHour/60*remaining)*100) / 100,
				RemainingMinutes: int64(remaining),
			}
		}
	}
	return b
}

// hours sums the entries per UTC hour.
func (m *txMerger) hours(order []int32) []UsageHour {
	var hours []UsageHour
	var s txSum
	for _, i := range order {
		e := &m.ents[i]
		h := txFloorHour(e.ts)
		if n := len(hours); n == 0 || hours[n-1].Start.UnixMilli() != h {
			if n > 0 {
				hours[n-1].Tokens, hours[n-1].CostUSD = s.tok, s.cost
			}
			hours = append(hours, UsageHour{Start: time.UnixMilli(h).UTC()})
			s = txSum{}
		}
		hours[len(hours)-1].Entries++
		s.add(&e.tok, e.cost)
	}
	if n := len(hours); n > 0 {
		hours[n-1].Tokens, hours[n-1].CostUSD = s.tok, s.cost
	}
	return hours
}

// sessions sums the entries per session, sessions in the order first seen.
func (m *txMerger) sessions(missing, estimated map[int32]bool) ([]UsageSession, UsageTotals) {
	type acc struct {
		txModelSum
		first, last int64
	}
	var accs []*acc
	bySession := make(map[int32]*acc)
	var keys []int32
	for i := range m.ents {
		e := &m.ents[i]
		si := m.run.files[e.file].session
		a, ok := bySession[si]
		if !ok {
			a = &acc{first: e.ts, last: e.ts}
			bySession[si] = a
			accs = append(accs, a)
			keys = append(keys, si)
		}
		a.first, a.last = min(a.first, e.ts), max(a.last, e.ts)
		if e.flags&txMissing != 0 {
			missing[e.model] = true
		}
		if e.flags&txEstimated != 0 {
			estimated[e.model] = true
		}
		a.add(m.display(e.model, e.flags), &e.tok, e.cost, e.flags&txMissing != 0)
	}
	out := make([]UsageSession, len(accs))
	for i, a := range accs {
		s := m.run.sessions[keys[i]]
		out[i] = UsageSession{SessionID: s.id, ProjectPath: s.project, FirstActivity: time.UnixMilli(a.first).UTC(),
			LastActivity: time.UnixMilli(a.last).UTC(), UsageSummary: a.summary()}
	}
	// ccusage lists the most expensive first.
	slices.SortStableFunc(out, func(a, b UsageSession) int { return cmp.Compare(b.TotalCost, a.TotalCost) })
	rows := make([]UsageSummary, len(out))
	for i := range out {
		rows[i] = out[i].UsageSummary
	}
	return out, txTotals(rows)
}

// daysReport sums the daily reader's entries per day.
func (m *txMerger) daysReport(missing, estimated map[int32]bool) ([]UsageDay, UsageTotals) {
	loc := m.run.opts.Location
	byDate := make(map[string]*txModelSum)
	var dates []string
	var lastDay int64 = math.MinInt64
	var lastDate string
	for i := range m.days {
		d := &m.days[i]
		var date string
		if day := txFloorDay(d.ts); loc == time.UTC && day == lastDay {
			date = lastDate
		} else {
			date = time.UnixMilli(d.ts).In(loc).Format(time.DateOnly)
			if loc == time.UTC {
				lastDay, lastDate = day, date
			}
		}
		s, ok := byDate[date]
		if !ok {
			s = &txModelSum{}
			byDate[date] = s
			dates = append(dates, date)
		}
		if d.flags&txMissing != 0 {
			missing[d.model] = true
		}
		if d.flags&txEstimated != 0 {
			estimated[d.model] = true
		}
		s.add(m.display(d.model, d.flags), &d.tok, d.cost, d.flags&txMissing != 0)
	}
	slices.Sort(dates)
	out := make([]UsageDay, len(dates))
	rows := make([]UsageSummary, len(dates))
	for i, date := range dates {
		rows[i] = byDate[date].summary()
		out[i] = UsageDay{Date: date, UsageSummary: rows[i]}
	}
	return out, txTotals(rows)
}

func txFloorDay(ms int64) int64 {
	const day = 86_400_000
	d := ms / day
	if ms%day < 0 {
		d--
	}
	return d
}
