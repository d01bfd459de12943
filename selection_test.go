package authpool

import (
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// selectNow is the instant of the selection tests.
var selectNow = time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)

// usd is a whole number of dollars in nanodollars.
func usd(d int64) store.Nanodollars { return store.Nanodollars(d * 1e9) }

// inService is a subscription in service with a $100 block and a $1,000
// week, half of the threshold's 0.8 used: eligible.
func inService() standing {
	return standing{
		status:      Status{State: Active},
		blockBudget: usd(100), weeklyBudget: usd(1000), maxClients: 10,
		use:      use{block: usd(20), blockShare: 0.2, week: usd(400), weekShare: 0.4},
		dayEnd:   time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC),
		blockEnd: selectNow.Add(2 * time.Hour),
	}
}

// with returns s changed by f.
func with(s standing, f func(*standing)) standing {
	f(&s)
	return s
}

func TestVerdict(t *testing.T) {
	later, earlier := selectNow.Add(time.Minute), selectNow.Add(-time.Minute)
	tests := []struct {
		name string
		s    standing
		want verdict
	}{
		{"in service and under every budget: keeps and takes clients", inService(), verdict{}},
		{"limited until later: limited", with(inService(), func(s *standing) { s.status = Status{State: Limited, Until: later} }),
			verdict{hard: ReasonLimited}},
		{"limited until now: back in service", with(inService(), func(s *standing) { s.status = Status{State: Limited, Until: selectNow} }),
			verdict{}},
		{"limited until earlier: back in service", with(inService(), func(s *standing) { s.status = Status{State: Limited, Until: earlier} }),
			verdict{}},
		{"disabled: disabled", with(inService(), func(s *standing) { s.status = Status{State: Disabled} }),
			verdict{hard: ReasonDisabled}},
		{"the day's budget reached: day spent", with(inService(), func(s *standing) { s.dailyBudget, s.dayCost = usd(50), usd(50) }),
			verdict{hard: ReasonDaySpent}},
		{"the day's budget not reached by a nanodollar: eligible",
			with(inService(), func(s *standing) { s.dailyBudget, s.dayCost = usd(50), usd(50)-1 }), verdict{}},
		{"a day's cost without a daily budget: eligible", with(inService(), func(s *standing) { s.dayCost = usd(500) }), verdict{}},
		{"the block's share reached 1 by the pool's count: block spent, past the budget only",
			with(inService(), func(s *standing) { s.use.blockShare = 1 }), verdict{hard: ReasonBlockSpent, past: true}},
		{"the week's share reached 1 by the pool's count: week spent, past the budget only",
			with(inService(), func(s *standing) { s.use.weekShare, s.use.week = 1, usd(1000) }), verdict{hard: ReasonWeekSpent, past: true}},
		{"the block reported at its limit: spent by the upstream's word",
			with(inService(), func(s *standing) { s.use.blockShare, s.use.blockReported = 1, 1 }), verdict{hard: ReasonBlockSpent}},
		{"the week reported at its limit: spent by the upstream's word",
			with(inService(), func(s *standing) { s.use.weekShare, s.use.weekReported = 1, 1 }), verdict{hard: ReasonWeekSpent}},
		{"the block spent by count, the week reported at its limit: spent by the upstream's word",
			with(inService(), func(s *standing) { s.use.blockShare, s.use.weekShare, s.use.weekReported = 1, 0.9, 1 }),
			verdict{hard: ReasonBlockSpent}},
		{"the week spent by count, reported under its limit: past the budget only",
			with(inService(), func(s *standing) { s.use.weekShare, s.use.weekReported = 1.02, 0.95 }), verdict{hard: ReasonWeekSpent, past: true}},
		{"the week at the threshold to the nanodollar: over the threshold",
			with(inService(), func(s *standing) { s.use.week, s.use.weekShare = usd(800), 0.8 }), verdict{soft: true}},
		{"the week a nanodollar under the threshold: eligible",
			with(inService(), func(s *standing) { s.use.week, s.use.weekShare = usd(800)-1, 0.8 }), verdict{}},
		{"no weekly budget, the reported share at the threshold: over the threshold",
			with(inService(), func(s *standing) { s.weeklyBudget, s.use.week, s.use.weekShare = 0, 0, 0.8 }), verdict{soft: true}},
		{"no weekly budget, the reported share under the threshold: eligible",
			with(inService(), func(s *standing) { s.weeklyBudget, s.use.week, s.use.weekShare = 0, 0, 0.79 }), verdict{}},
		{"limited beats every spent budget",
			with(inService(), func(s *standing) {
				s.status = Status{State: Limited, Until: later}
				s.dailyBudget, s.dayCost, s.use.blockShare, s.use.weekShare = 1, 1, 2, 2
			}), verdict{hard: ReasonLimited}},
		{"disabled, the week spent by count: disabled, not past the budget only",
			with(inService(), func(s *standing) { s.status, s.use.weekShare = Status{State: Disabled}, 1 }), verdict{hard: ReasonDisabled}},
		{"the day beats the block, the block the week",
			with(inService(), func(s *standing) { s.dailyBudget, s.dayCost, s.use.blockShare, s.use.weekShare = 1, 1, 2, 2 }),
			verdict{hard: ReasonDaySpent}},
		{"the block beats the week", with(inService(), func(s *standing) { s.use.blockShare, s.use.weekShare = 1, 1 }),
			verdict{hard: ReasonBlockSpent, past: true}},
		{"a full subscription keeps its clients", with(inService(), func(s *standing) { s.holding = 10 }), verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.s.verdict(selectNow, 0.8), cmp.AllowUnexported(verdict{})); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name                      string
		v                         verdict
		full, modelLimited, tried bool
		want                      Reason
	}{
		{"nothing in the way: takes the client", verdict{}, false, false, false, ""},
		{"a hard reason comes first", verdict{hard: ReasonBlockSpent, soft: true}, true, true, true, ReasonBlockSpent},
		{"then the weekly threshold", verdict{soft: true}, true, true, true, ReasonWeeklyThreshold},
		{"then no slot free", verdict{}, true, true, true, ReasonFull},
		{"then limited for the model", verdict{}, false, true, true, ReasonModelLimited},
		{"then tried for the request", verdict{}, false, false, true, ReasonTried},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refusal(tt.v, tt.full, tt.modelLimited, tt.tried); got != tt.want {
				t.Errorf("refusal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdmits(t *testing.T) {
	type in struct {
		v                         verdict
		full, modelLimited, tried bool
	}
	tests := []struct {
		name string
		in   in
		want map[tier]bool // the tiers that admit it
	}{
		{"an eligible subscription: eligible, and the fallback would be", in{}, map[tier]bool{tierEligible: true, tierFallback: true}},
		{"over the threshold: a reserve", in{v: verdict{soft: true}}, map[tier]bool{tierReserve: true, tierFallback: true}},
		{"over the threshold and full: none but the fallback, whose clients are not capped",
			in{v: verdict{soft: true}, full: true}, map[tier]bool{tierFallback: true}},
		{"full: only the fallback", in{full: true}, map[tier]bool{tierFallback: true}},
		{"spent: none", in{v: verdict{hard: ReasonDaySpent}}, map[tier]bool{}},
		{"limited for the model: none", in{modelLimited: true}, map[tier]bool{}},
		{"tried: none", in{tried: true}, map[tier]bool{}},
		{"over the threshold and limited for the model: none", in{v: verdict{soft: true}, modelLimited: true}, map[tier]bool{}},
		{"past a budget by the pool's count: past", in{v: verdict{hard: ReasonWeekSpent, past: true}}, map[tier]bool{tierPast: true}},
		{"past a budget by the pool's count, and full: none", in{v: verdict{hard: ReasonBlockSpent, past: true}, full: true},
			map[tier]bool{}},
		{"past a budget by the pool's count, limited for the model: none",
			in{v: verdict{hard: ReasonBlockSpent, past: true}, modelLimited: true}, map[tier]bool{}},
		{"past a budget by the pool's count, tried: none", in{v: verdict{hard: ReasonWeekSpent, past: true}, tried: true},
			map[tier]bool{}},
		{"spent by the upstream's word: none", in{v: verdict{hard: ReasonWeekSpent}}, map[tier]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[tier]bool{}
			for _, tr := range []tier{tierEligible, tierFallback, tierReserve, tierPast} {
				if admits(tr, tt.in.v, tt.in.full, tt.in.modelLimited, tt.in.tried) {
					got[tr] = true
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tiers admitting it (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackAt(t *testing.T) {
	at := func(m int) time.Time { return selectNow.Add(time.Duration(m) * time.Minute) }
	type back struct {
		At         time.Time
		ByCapacity bool
	}
	tests := []struct {
		name string
		s    standing
		want back
	}{
		{"eligible: nothing to wait for", inService(), back{}},
		{"disabled: only a person brings it back", with(inService(), func(s *standing) {
			s.status, s.holding, s.freesAt = Status{State: Disabled}, 10, at(5)
		}), back{}},
		{"limited: when the limit ends", with(inService(), func(s *standing) { s.status = Status{State: Limited, Until: at(30)} }),
			back{At: at(30)}},
		{"the day spent: when the UTC day ends", with(inService(), func(s *standing) { s.dailyBudget, s.dayCost = usd(5), usd(5) }),
			back{At: inService().dayEnd}},
		{"the block spent: when the block ends", with(inService(), func(s *standing) { s.use.blockShare = 1 }),
			back{At: inService().blockEnd}},
		{"the block reported spent, its reset after the block's end: at the reset",
			with(inService(), func(s *standing) { s.use.blockShare, s.use.blockReported, s.blockReset = 1, 1, at(300) }),
			back{At: at(300)}},
		{"the block's reported reset does not count while the report is under 1",
			with(inService(), func(s *standing) { s.use.blockShare, s.use.blockReported, s.blockReset = 1, 0.9, at(300) }),
			back{At: inService().blockEnd}},
		{"the week spent by its own count: when enough of it leaves the week",
			with(inService(), func(s *standing) { s.use.weekShare, s.weekFrees = 1, at(600) }), back{At: at(600)}},
		{"the week reported spent: at the later of the reset and its own count's",
			with(inService(), func(s *standing) {
				s.use.weekShare, s.use.weekReported, s.weekFrees, s.weekReset = 1, 1, at(600), at(900)
			}),
			back{At: at(900)}},
		{"full: when a slot frees up", with(inService(), func(s *standing) { s.holding, s.freesAt = 10, at(7) }),
			back{At: at(7), ByCapacity: true}},
		{"full and limited for longer: when the limit ends", with(inService(), func(s *standing) {
			s.holding, s.freesAt, s.status = 10, at(7), Status{State: Limited, Until: at(30)}
		}), back{At: at(30)}},
		{"full and limited for less: when a slot frees up", with(inService(), func(s *standing) {
			s.holding, s.freesAt, s.status = 10, at(7), Status{State: Limited, Until: at(3)}
		}), back{At: at(7), ByCapacity: true}},
		{"several reasons: the latest end", with(inService(), func(s *standing) {
			s.status = Status{State: Limited, Until: at(30)}
			s.use.blockShare = 1
		}), back{At: inService().blockEnd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got back
			got.At, got.ByCapacity = tt.s.backAt(selectNow)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("backAt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTiers(t *testing.T) {
	tests := []struct {
		name                  string
		fallbackFirst, strict bool
		want                  []tier
	}{
		{"by default prepaid capacity comes before the fallback", false, false,
			[]tier{tierEligible, tierReserve, tierPast, tierFallback}},
		{"strict budgets: nothing past a budget", false, true, []tier{tierEligible, tierReserve, tierFallback}},
		{"the fallback first: right after the eligible", true, false, []tier{tierEligible, tierFallback, tierReserve, tierPast}},
		{"the fallback first and strict budgets: the order before the forecast", true, true,
			[]tier{tierEligible, tierFallback, tierReserve}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tiers(tt.fallbackFirst, tt.strict)); diff != "" {
				t.Errorf("tiers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestForesee(t *testing.T) {
	in := func(h time.Duration) time.Time { return selectNow.Add(h * time.Hour) }
	dayOf := func(t time.Time) int64 { return store.HourOf(t) / 24 } // its UTC day, in days since 1970
	never := int64(math.MaxInt64)
	tests := []struct {
		name   string
		l      lapse
		budget store.Nanodollars
		margin float64
		want   foresight
	}{
		{"$30 of $1,000 would lapse in 20 hours, the margin 2 %: lapsing soon, on its UTC day",
			lapse{left: 30, at: in(20)}, usd(1000), 0.02, foresight{lapsing: true, day: dayOf(in(20))}},
		{"exactly the margin would lapse: lapsing", lapse{left: 20, at: in(20)}, usd(1000), 0.02,
			foresight{lapsing: true, day: dayOf(in(20))}},
		{"a cent under the margin: not lapsing", lapse{left: 19.99, at: in(20)}, usd(1000), 0.02, foresight{day: never}},
		{"lapsing in exactly a day: soon", lapse{left: 500, at: in(24)}, usd(1000), 0.02, foresight{lapsing: true, day: dayOf(in(24))}},
		{"lapsing in 25 hours: not soon", lapse{left: 500, at: in(25)}, usd(1000), 0.02, foresight{lapsing: true, day: never}},
		{"forecast to run out: not lapsing", lapse{left: -300, at: in(20)}, usd(1000), 0.02, foresight{day: never}},
		{"the forecast off: nothing", lapse{left: 900, at: in(20)}, usd(1000), -1, foresight{}},
		{"no weekly budget: no forecast", lapse{left: 900, at: in(20)}, 0, 0.02, foresight{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := foresee(tt.l, selectNow, tt.budget, tt.margin)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(foresight{})); diff != "" {
				t.Errorf("foresee (-want +got):\n%s", diff)
			}
			if want := tt.want.lapses(); got.lapses() != want || !tt.want.lapsing && want != never {
				t.Errorf("lapses() = %d, want %d (never unless lapsing)", got.lapses(), want)
			}
		})
	}
}

func TestRelax(t *testing.T) {
	lapsing, not := foresight{lapsing: true}, foresight{}
	tests := []struct {
		name string
		v    verdict
		f    foresight
		want verdict
	}{
		{"over the threshold, its week lapsing: the threshold relaxes", verdict{soft: true}, lapsing, verdict{}},
		{"over the threshold, not lapsing: over the threshold", verdict{soft: true}, not, verdict{soft: true}},
		{"a spent budget does not relax", verdict{hard: ReasonWeekSpent, past: true}, lapsing,
			verdict{hard: ReasonWeekSpent, past: true}},
		{"eligible stays eligible", verdict{}, lapsing, verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, relax(tt.v, tt.f), cmp.AllowUnexported(verdict{})); diff != "" {
				t.Errorf("relax (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShortlisted(t *testing.T) {
	never := foresight{}.lapses()
	soon := func(day int64) int64 { return foresight{lapsing: true, day: day}.lapses() }
	tests := []struct {
		name             string
		lapses, soonest  int64
		wantKeep, wantAn bool
	}{
		{"the first candidate, not lapsing soon: kept", never, never, true, false},
		{"the first candidate lapsing soon: kept, the shortlist anew", soon(20_800), never, true, true},
		{"lapsing on the shortlist's day: kept beside it", soon(20_800), soon(20_800), true, false},
		{"lapsing a day earlier than the shortlist: the shortlist anew", soon(20_799), soon(20_800), true, true},
		{"lapsing a day later than the shortlist: left out", soon(20_801), soon(20_800), false, false},
		{"not lapsing soon while the shortlist is: left out, whatever its health", never, soon(20_800), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, anew := shortlisted(tt.lapses, tt.soonest)
			if keep != tt.wantKeep || anew != tt.wantAn {
				t.Errorf("shortlisted = %v, %v; want %v, %v", keep, anew, tt.wantKeep, tt.wantAn)
			}
		})
	}
}

func TestShortlist(t *testing.T) {
	c := func(health float64, holding int, weekShare float64, week int64) candidate {
		return candidate{health: health, holding: holding, weekShare: weekShare, week: usd(week)}
	}
	never := foresight{}.lapses()
	soon := func(day int64) int64 { return foresight{lapsing: true, day: day}.lapses() }
	type offer struct {
		lapses int64
		c      candidate
	}
	o := func(c candidate) offer { return offer{never, c} }
	tests := []struct {
		name   string
		offers []offer
		want   int
	}{
		{"none: no choice", nil, -1},
		{"one: that one", []offer{o(c(10, 5, 0.9, 900))}, 0},
		{"the higher health wins whatever else", []offer{o(c(80, 0, 0, 0)), o(c(81, 9, 0.9, 900))}, 1},
		{"equal health: fewer clients holding a slot", []offer{o(c(80, 3, 0.1, 100)), o(c(80, 2, 0.9, 900))}, 1},
		{"then the lower share of the weekly budget", []offer{o(c(80, 2, 0.5, 100)), o(c(80, 2, 0.4, 900))}, 1},
		{"then the lower weekly cost", []offer{o(c(80, 2, 0, 300)), o(c(80, 2, 0, 200))}, 1},
		{"a tie goes to the first", []offer{o(c(80, 2, 0.4, 400)), o(c(80, 2, 0.4, 400)), o(c(80, 2, 0.4, 400))}, 0},
		{"the best anywhere in the list", []offer{o(c(70, 0, 0, 0)), o(c(90, 0, 0, 0)), o(c(80, 0, 0, 0)), o(c(90, 1, 0, 0))}, 1},
		{"a week lapsing soon first, whatever its health",
			[]offer{o(c(90, 0, 0, 0)), {soon(20_800), c(10, 9, 0.9, 900)}, o(c(95, 0, 0, 0))}, 1},
		{"the week lapsing soonest first",
			[]offer{{soon(20_801), c(90, 0, 0, 0)}, {soon(20_800), c(10, 0, 0, 0)}, {soon(20_802), c(99, 0, 0, 0)}}, 1},
		{"among weeks lapsing the same day, the better",
			[]offer{{soon(20_800), c(10, 0, 0, 0)}, o(c(99, 0, 0, 0)), {soon(20_800), c(20, 0, 0, 0)}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := newShortlist()
			for i, of := range tt.offers {
				list.offer(i, of.lapses, of.c)
			}
			if got := list.best(); got != tt.want {
				t.Errorf("best = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPairFor(t *testing.T) {
	type pairIdx struct {
		From, To int
		OK       bool
	}
	r := func(room int64, clients int, takes bool) blockRoom {
		return blockRoom{room: usd(room), clients: clients, takes: takes}
	}
	drained := func(b blockRoom) blockRoom { b.drained = true; return b }
	tests := []struct {
		name  string
		rooms []blockRoom
		want  pairIdx
	}{
		{"none: no pair", nil, pairIdx{-1, -1, false}},
		{"one: no pair", []blockRoom{r(10, 3, true)}, pairIdx{-1, -1, false}},
		{"from the least room to the most", []blockRoom{r(50, 1, true), r(10, 3, true), r(90, 2, true)}, pairIdx{1, 2, true}},
		{"a source needs clients", []blockRoom{r(10, 0, true), r(50, 1, true), r(90, 0, true)}, pairIdx{1, 2, true}},
		{"a drained source is passed over", []blockRoom{drained(r(10, 3, true)), r(50, 1, true), r(90, 0, true)}, pairIdx{1, 2, true}},
		{"a target must take new clients", []blockRoom{r(10, 3, true), r(50, 1, true), r(90, 0, false)}, pairIdx{0, 1, true}},
		{"equal room: the target with fewer clients", []blockRoom{r(10, 3, true), r(90, 2, true), r(90, 1, true)}, pairIdx{0, 2, true}},
		{"equal room and clients: the first target", []blockRoom{r(10, 3, true), r(90, 1, true), r(90, 1, true)}, pairIdx{0, 1, true}},
		{"equal room: the first source", []blockRoom{r(10, 3, true), r(10, 1, true), r(90, 0, true)}, pairIdx{0, 2, true}},
		{"the tightest source is the roomiest target: no pair", []blockRoom{r(90, 1, true), r(10, 0, false)}, pairIdx{-1, -1, false}},
		{"a block without a budget has more room than any with one",
			[]blockRoom{{room: roomLeft(usd(500), 0), takes: true}, {room: roomLeft(0, usd(1000)), clients: 1, takes: true}},
			pairIdx{1, 0, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got pairIdx
			got.From, got.To, got.OK = pairFor(tt.rooms)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pairFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMovable(t *testing.T) {
	at := func(m int) time.Time { return selectNow.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name          string
		hold, runsOut time.Time
		want          bool
	}{
		{"its cache expired: movable", at(0), time.Time{}, true},
		{"no hold at all: movable", time.Time{}, time.Time{}, true},
		{"its cache warm, the subscription not running out: stays", at(30), time.Time{}, false},
		{"its cache warm, the subscription running out after it expires: stays", at(30), at(31), false},
		{"its cache warm, the subscription running out before it expires: movable", at(30), at(29), true},
		{"its cache warm, the subscription spent now: movable", at(30), at(0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := movable(tt.hold, tt.runsOut, selectNow); got != tt.want {
				t.Errorf("movable = %v, want %v", got, tt.want)
			}
		})
	}
}
