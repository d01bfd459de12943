package authpool

import (
	"fmt"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// Tokens counts a request's tokens by kind.
type Tokens = store.Tokens

// Usage is what one request used: its cost and tokens, the model, when it
// happened, and an optional ID that makes recording it idempotent.
type Usage struct {
	// ID identifies the request, e.g. the API's message id (msg_...) or
	// request id. Recording the same ID twice counts once. Optional.
	ID string `json:"id,omitempty"`
	// SubscriptionID is the subscription the request was made on, when the
	// caller knows it (Allocation.SubscriptionID). It bills that
	// subscription even if the client has moved since. Optional: the
	// default is the client's current subscription.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	// Time is when the request happened. Required.
	Time time.Time `json:"time"`
	// CostUSD is what the request cost, in US dollars.
	CostUSD float64 `json:"costUSD"`
	// Tokens are the request's tokens by kind.
	Tokens Tokens `json:"tokens"`
	// Model is the model that served the request.
	Model string `json:"model,omitempty"`
	// PricedAs is set when CostUSD is an estimate because Model has no
	// price of its own: it names what the request was priced as (another
	// model, such as its family's newest, or "fallback" for a price table's
	// fallback price). The pool counts such usages (Stats.EstimatedUsages)
	// and reports each model once (EventUnpricedModel). Optional.
	PricedAs string `json:"pricedAs,omitempty"`
	// CacheTTL is the time to live of the prompt cache the request wrote:
	// the client holds its slot on the subscription (see Pool.Allocate) for
	// at least that long after Record, so that a client whose cache lives an
	// hour finds it warm when it comes back. 0 means Sessions.IdleAfter
	// (the API's default cache lives 5 minutes); package claude sets an hour
	// when the response wrote 1-hour cache (ephemeral_1h). At most
	// an hour, the longest the API caches; in JSON, nanoseconds.
	CacheTTL time.Duration `json:"cacheTTL,omitempty"`
}

// record checks u against now and fills rec with it as the store adds it,
// its ID remembered for remember after its time within rememberBytes.
// A problem names the field and the value.
func (u *Usage) record(now time.Time, remember time.Duration, rememberBytes int64, rec *store.UsageRecord) error {
	cost, err := store.FromUSD(u.CostUSD)
	if err != nil {
		return fmt.Errorf("usage.costUSD: %w", err)
	}
	if t := &u.Tokens; uint64(t.Input) > bounds.MaxTokens || uint64(t.Output) > bounds.MaxTokens ||
		uint64(t.CacheWrite) > bounds.MaxTokens || uint64(t.CacheRead) > bounds.MaxTokens {
		return tokensProblem(*t)
	}
	switch sec := u.Time.Unix(); {
	case u.Time.IsZero():
		return fmt.Errorf("usage.time is zero: say when the request happened")
	case u.Time.Sub(now) > bounds.MaxClockSkew:
		return fmt.Errorf("usage.time %v is more than %v after now (%v)", u.Time.UTC(), bounds.MaxClockSkew, now.UTC())
	case sec < (store.HourOf(now)-store.WeekHours+1)*3600:
		return fmt.Errorf("usage.time %v is older than the week the pool keeps (since %v)", u.Time.UTC(), weekWindow(now).Start)
	}
	if u.CacheTTL < 0 || u.CacheTTL > bounds.MaxCacheTTL {
		return fmt.Errorf("usage.cacheTTL: %v is outside 0..%v", u.CacheTTL, bounds.MaxCacheTTL)
	}
	if err := bounds.CheckText("usage.id", u.ID, true); err != nil {
		return err
	}
	if err := bounds.CheckText("usage.model", u.Model, true); err != nil {
		return err
	}
	if err := bounds.CheckText("usage.subscriptionId", u.SubscriptionID, true); err != nil {
		return err
	}
	if err := bounds.CheckText("usage.pricedAs", u.PricedAs, true); err != nil {
		return err
	}
	*rec = store.UsageRecord{
		ID:             u.ID,
		SubscriptionID: u.SubscriptionID,
		Time:           u.Time,
		Cost:           cost,
		Tokens:         u.Tokens,
		Model:          u.Model,
		Now:            now,
		Remember:       remember,
		RememberBytes:  rememberBytes,
	}
	if u.Time.After(now) {
		rec.Time = now
	}
	return nil
}

// tokensProblem names the token count outside 0..MaxTokens.
func tokensProblem(t Tokens) error {
	for _, k := range [...]struct {
		name string
		n    int64
	}{{"input", t.Input}, {"output", t.Output}, {"cacheWrite", t.CacheWrite}, {"cacheRead", t.CacheRead}} {
		if k.n < 0 || k.n > bounds.MaxTokens {
			return fmt.Errorf("usage.tokens.%s: %d is outside 0..%d", k.name, k.n, int64(bounds.MaxTokens))
		}
	}
	return nil
}

// hourly is a subscription's cost per UTC hour over the last week, a ring
// indexed by hour: its size does not depend on how many usages it holds.
type hourly [store.WeekHours]struct {
	hour int64
	cost store.Nanodollars
}

func slot(hour int64) int { return int(((hour % store.WeekHours) + store.WeekHours) % store.WeekHours) }

// load replaces the ring's contents with buckets.
func (r *hourly) load(buckets []store.Bucket) {
	*r = hourly{}
	for _, b := range buckets {
		r.add(b.Hour, b.Cost)
	}
}

// add adds cost to hour's bucket; a bucket already holding a later hour wins.
func (r *hourly) add(hour int64, cost store.Nanodollars) {
	s := &r[slot(hour)]
	switch {
	case s.cost != 0 && s.hour > hour:
		return
	case s.hour != hour:
		s.hour, s.cost = hour, 0
	}
	s.cost += cost
}

// at returns the cost in hour.
func (r *hourly) at(hour int64) store.Nanodollars {
	if s := r[slot(hour)]; s.hour == hour {
		return s.cost
	}
	return 0
}

// sum returns the cost of the hours in [from, to).
func (r *hourly) sum(from, to int64) store.Nanodollars {
	var total store.Nanodollars
	for h := max(from, to-store.WeekHours); h < to; h++ {
		total += r.at(h)
	}
	return total
}

// metrics are a subscription's spending numbers at one instant, derived from
// its hourly ring by measure and kept current by add. Hours are store.HourOf
// values.
type metrics struct {
	at          time.Time
	hour        int64 // at's hour
	week        store.Nanodollars
	block       span
	anchor      int64 // in anchored mode, the hour the latest block started at
	blockActive bool  // whether a block holds at (anchored mode may have none)
	blockFrom   int64 // the block's hours: [blockFrom, blockTo)
	blockTo     int64
	blockCost   store.Nanodollars
	dayFrom     int64 // the UTC day's first hour
	day         store.Nanodollars
}

// measure derives a subscription's numbers at now from its ring and, in
// anchored mode, the hour its latest block started at.
func measure(r *hourly, now time.Time, b BlockPolicy, anchor int64) metrics {
	h := store.HourOf(now)
	m := metrics{at: now, hour: h, week: r.sum(h-store.WeekHours+1, h+1), anchor: anchor}
	m.dayFrom = store.HourOf(dayWindow(now).Start)
	m.day = r.sum(m.dayFrom, h+1)
	if b.Fixed {
		m.block, m.blockActive = fixedBlock(now, b.Hours), true
	} else {
		m.block, m.blockActive = anchoredBlock(anchor, now, b.Hours)
	}
	if m.blockActive {
		m.blockFrom, m.blockTo = store.HourOf(m.block.Start), store.HourOf(m.block.End)
		m.blockCost = r.sum(m.blockFrom, min(m.blockTo, h+1))
	}
	return m
}

// add counts cost at hour (already added to r) in m, which was measured in
// the same hour. In anchored mode a usage at or after the block's end starts
// a new block at its hour, as the store's BlockStart does.
func (m *metrics) add(r *hourly, hour int64, cost store.Nanodollars, b BlockPolicy) {
	if !b.Fixed && startsBlock(m.anchor, hour, b.Hours) {
		*m = measure(r, m.at, b, hour)
		return
	}
	if hour <= m.hour-store.WeekHours || hour > m.hour {
		return
	}
	if m.blockActive && hour >= m.blockFrom && hour < m.blockTo {
		m.blockCost += cost
	}
	m.week += cost
	if hour >= m.dayFrom {
		m.day += cost
	}
}
