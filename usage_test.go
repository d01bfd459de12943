package authpool

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestUsageRecordRefusesWhatItCannotCount(t *testing.T) {
	now := at(0, 12, 30, 0)
	valid := func(edit func(u *Usage)) Usage {
		u := Usage{ID: "msg_1", Time: now, CostUSD: 0.25, Tokens: Tokens{Input: 10, Output: 20}, Model: "claude-sonnet-4-5"}
		edit(&u)
		return u
	}
	tests := []struct {
		name string
		u    Usage
		want []string // substrings of the error: the field and the value
	}{
		{"a negative cost", valid(func(u *Usage) { u.CostUSD = -0.01 }), []string{"usage.costUSD", "-0.01", "negative"}},
		{"a NaN cost", valid(func(u *Usage) { u.CostUSD = math.NaN() }), []string{"usage.costUSD", "NaN"}},
		{"an infinite cost", valid(func(u *Usage) { u.CostUSD = math.Inf(1) }), []string{"usage.costUSD", "+Inf"}},
		{"a negative infinite cost", valid(func(u *Usage) { u.CostUSD = math.Inf(-1) }), []string{"usage.costUSD", "-Inf"}},
		{"a cost above MaxUSD", valid(func(u *Usage) { u.CostUSD = store.MaxUSD * 2 }), []string{"usage.costUSD", "2e+06"}},
		{"negative input tokens", valid(func(u *Usage) { u.Tokens.Input = -1 }), []string{"usage.tokens.input", "-1"}},
		{"negative output tokens", valid(func(u *Usage) { u.Tokens.Output = -5 }), []string{"usage.tokens.output", "-5"}},
		{"negative cache write tokens", valid(func(u *Usage) { u.Tokens.CacheWrite = -7 }), []string{"usage.tokens.cacheWrite", "-7"}},
		{"negative cache read tokens", valid(func(u *Usage) { u.Tokens.CacheRead = math.MinInt64 }),
			[]string{"usage.tokens.cacheRead", fmt.Sprint(int64(math.MinInt64))}},
		{"tokens above bounds.MaxTokens", valid(func(u *Usage) { u.Tokens.Output = bounds.MaxTokens + 1 }),
			[]string{"usage.tokens.output", fmt.Sprint(int64(bounds.MaxTokens + 1))}},
		{"a zero time", valid(func(u *Usage) { u.Time = time.Time{} }), []string{"usage.time", "zero"}},
		{"a time more than bounds.MaxClockSkew ahead", valid(func(u *Usage) { u.Time = now.Add(bounds.MaxClockSkew + time.Second) }),
			[]string{"usage.time", "2026-11-26 12:35:01"}},
		{"a time a nanosecond past bounds.MaxClockSkew ahead", valid(func(u *Usage) { u.Time = now.Add(bounds.MaxClockSkew + time.Nanosecond) }),
			[]string{"usage.time", "2026-11-26 12:35:00.000000001"}},
		{"a time older than the week", valid(func(u *Usage) { u.Time = now.Add(-168 * time.Hour) }),
			[]string{"usage.time", "2026-11-19 12:30:00", "older than the week"}},
		{"an ID with a control character", valid(func(u *Usage) { u.ID = "msg\x00" }), []string{"usage.id", `"msg\x00"`}},
		{"an ID longer than bounds.MaxIDLength", valid(func(u *Usage) { u.ID = strings.Repeat("m", bounds.MaxIDLength+1) }),
			[]string{"usage.id", "257 bytes"}},
		{"a model that is not UTF-8", valid(func(u *Usage) { u.Model = "claude\xff" }), []string{"usage.model", `"claude\xff"`}},
		{"a subscription ID with a newline", valid(func(u *Usage) { u.SubscriptionID = "a\nb" }),
			[]string{"usage.subscriptionId", `"a\nb"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec store.UsageRecord
			err := tt.u.record(now, time.Hour, 1<<20, &rec)
			if err == nil {
				t.Fatalf("record(%+v) = nil, want an error", tt.u)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("record(...) = %q, want it to say %q", err, s)
				}
			}
			if diff := cmp.Diff(store.UsageRecord{}, rec); diff != "" {
				t.Errorf("record(...) filled the record though it refused the usage:\n%s", diff)
			}
		})
	}
}

func TestUsageRecordAcceptsTheEdges(t *testing.T) {
	now := at(0, 12, 30, 0)
	tests := []struct {
		name     string
		u        Usage
		wantTime time.Time
	}{
		{"a cost of MaxUSD", Usage{Time: now, CostUSD: store.MaxUSD}, now},
		{"a cost of zero", Usage{Time: now}, now},
		{"bounds.MaxTokens of every kind", Usage{Time: now, Tokens: Tokens{Input: bounds.MaxTokens, Output: bounds.MaxTokens, CacheWrite: bounds.MaxTokens, CacheRead: bounds.MaxTokens}}, now},
		{"a time exactly bounds.MaxClockSkew ahead counts now", Usage{Time: now.Add(bounds.MaxClockSkew), CostUSD: 1}, now},
		{"a time in the week's first hour", Usage{Time: at(-7, 13, 0, 0), CostUSD: 1}, at(-7, 13, 0, 0)},
		{"a time 167 hours ago", Usage{Time: now.Add(-167 * time.Hour), CostUSD: 1}, now.Add(-167 * time.Hour)},
		{"a non-ASCII model", Usage{Time: now, Model: "modèle-été"}, now},
		{"a model of bounds.MaxIDLength bytes", Usage{Time: now, Model: strings.Repeat("x", bounds.MaxIDLength)}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec store.UsageRecord
			if err := tt.u.record(now, time.Hour, 1<<20, &rec); err != nil {
				t.Fatalf("record(%+v) = %v, want nil", tt.u, err)
			}
			want := store.UsageRecord{ID: tt.u.ID, SubscriptionID: tt.u.SubscriptionID, Time: tt.wantTime,
				Tokens: tt.u.Tokens, Model: tt.u.Model, Now: now, Remember: time.Hour, RememberBytes: 1 << 20}
			want.Cost, _ = store.FromUSD(tt.u.CostUSD)
			if diff := cmp.Diff(want, rec); diff != "" {
				t.Errorf("record(...) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHourlyRingKeepsOneWeek(t *testing.T) {
	var r hourly
	h := store.HourOf(at(0, 12, 0, 0))
	r.add(h, 5)
	r.add(h, 7)
	r.add(h-167, 3)
	if got := r.at(h); got != 12 {
		t.Errorf("at(h) = %d, want 12: two adds to one hour sum", got)
	}
	if got := r.sum(h-167, h+1); got != 15 {
		t.Errorf("sum of the week = %d, want 15", got)
	}
	// An hour a week older than a kept one shares its slot and is dropped.
	r.add(h-168, 100)
	if got := r.at(h); got != 12 {
		t.Errorf("at(h) after adding a week-older hour = %d, want 12", got)
	}
	if got := r.at(h - 168); got != 0 {
		t.Errorf("at(h-168) = %d, want 0: older than the ring keeps", got)
	}
	// An hour a week newer replaces the slot's old hour.
	r.add(h+1, 4) // the slot of h-167
	if got, want := r.at(h-167), store.Nanodollars(0); got != want {
		t.Errorf("at(h-167) after h+1 took its slot = %d, want %d", got, want)
	}
	if got := r.at(h + 1); got != 4 {
		t.Errorf("at(h+1) = %d, want 4", got)
	}
	// A sum never reaches back further than the ring holds.
	if got := r.sum(h-1000, h+2); got != 16 {
		t.Errorf("sum over more than a week = %d, want 16", got)
	}
	// load replaces the contents.
	r.load([]store.Bucket{{Hour: h, Cost: 1}, {Hour: h - 3, Cost: 2}})
	if got := r.sum(h-167, h+1); got != 3 {
		t.Errorf("sum after load = %d, want 3", got)
	}
}

// TestMetricsAddAgreesWithMeasure is a property test: after any sequence of
// usages, the numbers kept current by metrics.add (the path Record takes)
// equal the numbers measured again from the hourly ring, in both block modes.
func TestMetricsAddAgreesWithMeasure(t *testing.T) {
	policies := []BlockPolicy{
		{Hours: 5}, {Fixed: true, Hours: 5},
		{Hours: 2}, {Fixed: true, Hours: 7},
	}
	opts := []cmp.Option{cmp.AllowUnexported(metrics{}), cmpopts.IgnoreFields(metrics{}, "at")}
	for _, b := range policies {
		t.Run(fmt.Sprintf("fixed=%v %d hours", b.Fixed, b.Hours), func(t *testing.T) {
			seed := uint64(b.Hours) << 8
			if b.Fixed {
				seed |= 1
			}
			rng := rand.New(rand.NewPCG(42, seed))
			cost := func() store.Nanodollars {
				if rng.IntN(10) == 0 {
					return 0
				}
				return store.Nanodollars(1 + rng.Int64N(5e9))
			}
			// pastHour returns an hour at or before h, mostly recent, sometimes
			// around the week's edge or beyond it.
			pastHour := func(h int64) int64 {
				switch rng.IntN(10) {
				case 0:
					return h - 160 - rng.Int64N(15)
				case 1, 2:
					return h - rng.Int64N(168)
				default:
					return h - rng.Int64N(8)
				}
			}
			for trial := range 100 {
				var r hourly
				now := at(0, 0, 0, 0).Add(time.Duration(rng.Int64N(int64(14 * 24 * time.Hour))))
				for range rng.IntN(50) {
					h := pastHour(store.HourOf(now))
					c := cost()
					r.add(h, c)
				}
				// The anchor evolves as the store's BlockStart does, usage by usage.
				anchor := int64(noAnchor)
				for hr := store.HourOf(now) - store.WeekHours; hr <= store.HourOf(now); hr++ {
					if r.at(hr) != 0 && startsBlock(anchor, hr, b.Hours) {
						anchor = hr
					}
				}
				m := measure(&r, now, b, anchor)
				for step := range 40 {
					if rng.IntN(5) == 0 {
						// Time passes; a new hour is measured again, as classify does.
						now = now.Add(time.Duration(rng.Int64N(int64(90 * time.Minute))))
						if store.HourOf(now) != m.hour {
							m = measure(&r, now, b, m.anchor)
						}
					}
					h, c := pastHour(store.HourOf(now)), cost()
					r.add(h, c)
					m.add(&r, h, c, b)
					if !b.Fixed && startsBlock(anchor, h, b.Hours) {
						anchor = h
					}
					want := measure(&r, now, b, anchor)
					if want.at = m.at; want == m {
						continue
					}
					if diff := cmp.Diff(want, m, opts...); diff != "" {
						t.Fatalf("trial %d step %d: after adding %d at %v (now %v), incremental metrics differ from measured (-measured +incremental):\n%s",
							trial, step, c, store.HourStart(h), now, diff)
					}
				}
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	var r hourly
	add := func(tm time.Time, usd float64) {
		c, _ := store.FromUSD(usd)
		r.add(store.HourOf(tm), c)
	}
	add(at(-7, 12, 0, 0), 100) // outside the week at now
	add(at(-7, 13, 0, 0), 1)   // the week's first hour
	add(at(-1, 23, 0, 0), 2)   // yesterday
	add(at(0, 9, 0, 0), 4)     // today, before the fixed block; the anchored block starts here
	add(at(0, 11, 10, 0), 8)   // the fixed block (10-15) and the anchored block (9-14)
	add(at(0, 12, 50, 0), 16)  // this hour
	now := at(0, 12, 55, 0)
	usd := func(n store.Nanodollars) float64 { return n.USD() }
	tests := []struct {
		name                 string
		fixed                bool
		block                span
		blockCost, week, day float64
	}{
		{"fixed", true, span{at(0, 10, 0, 0), at(0, 15, 0, 0)}, 24, 31, 28},
		{"anchored", false, span{at(0, 9, 0, 0), at(0, 14, 0, 0)}, 28, 31, 28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := measure(&r, now, BlockPolicy{Fixed: tt.fixed, Hours: 5}, store.HourOf(at(0, 9, 0, 0)))
			got := []any{m.block, m.blockActive, usd(m.blockCost), usd(m.week), usd(m.day)}
			want := []any{tt.block, true, tt.blockCost, tt.week, tt.day}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("measure (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBurnRateIsTheLastSixtyMinutes: $5 spent at 10:50 reads $5 an hour at
// every minute until 11:49, and nothing from 11:50 on, whatever the minute
// of the hour (an estimate from hourly buckets read 5.00, 8.33, 10.00 or
// 4.17 depending on it).
func TestBurnRateIsTheLastSixtyMinutes(t *testing.T) {
	var r minutely
	r.add(store.MinuteOf(at(0, 10, 50, 0)), 2e9)
	r.add(store.MinuteOf(at(0, 10, 50, 59)), 3e9)
	for m := 50; m < 50+60; m++ {
		now := at(0, 10, 0, 0).Add(time.Duration(m)*time.Minute + 30*time.Second)
		if got := r.sum(now); got != 5e9 {
			t.Errorf("sum at %s = %d, want 5e9", now.Format("15:04:05"), got)
		}
	}
	for _, now := range []time.Time{at(0, 11, 50, 0), at(0, 12, 49, 0), at(1, 10, 50, 0)} {
		if got := r.sum(now); got != 0 {
			t.Errorf("sum at %s = %d, want 0", now.Format("Jan 2 15:04:05"), got)
		}
	}
}

func TestMinuteRing(t *testing.T) {
	var r minutely
	base := store.MinuteOf(at(0, 12, 0, 0))
	now := at(0, 12, 59, 0)
	r.add(base, 1)
	r.add(base+59, 2)
	r.add(base+59, 4)
	r.add(base+30, 0)  // free: nothing
	r.add(base+30, -8) // never negative
	if got := r.sum(now); got != 7 {
		t.Fatalf("sum = %d, want 7", got)
	}
	r.add(base-1, 16) // an hour before the newest minute: its slot holds base+59
	if got := r.sum(now); got != 7 {
		t.Errorf("sum after a minute an hour old = %d, want 7", got)
	}
	r.add(base+60, 32) // base's slot, an hour later: base leaves
	if got := r.sum(at(0, 13, 0, 0)); got != 2+4+32 {
		t.Errorf("sum after the slot of base turned = %d, want 38", got)
	}
	// A slot untouched for weeks, then written again: the old minute does
	// not block it, and counts nothing.
	far := base + 60*24*30
	r.add(far+1, 64)
	if got := r.sum(at(30, 12, 30, 0)); got != 64 {
		t.Errorf("sum a month on = %d, want 64", got)
	}
	// A minute's cost saturates instead of spilling into its tag.
	var big minutely
	big.add(base, store.Nanodollars(minuteCostMax))
	big.add(base, 1e15)
	if got := big.sum(now); got != minuteCostMax {
		t.Errorf("saturated sum = %d, want %d", got, int64(minuteCostMax))
	}
	// load replaces the contents.
	r.load([]store.Minute{{Minute: base + 10, Cost: 3}, {Minute: base - 100, Cost: 100}})
	if got := r.sum(now); got != 3 {
		t.Errorf("sum after load = %d, want 3", got)
	}
}

// TestMinuteRingConcurrentAdds adds from many goroutines at once, as
// noteUsage does without the lock: the sum is exact.
func TestMinuteRingConcurrentAdds(t *testing.T) {
	var r minutely
	base := store.MinuteOf(at(0, 12, 0, 0))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				r.add(base+int64((g+i)%60), 1)
			}
		})
	}
	wg.Wait()
	if got := r.sum(at(0, 12, 59, 0)); got != 8000 {
		t.Errorf("sum = %d, want 8000", got)
	}
}
