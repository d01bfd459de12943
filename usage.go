package authpool

import (
	"fmt"
	"time"
	"unicode/utf8"

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
	// MaxCacheTTL; in JSON, nanoseconds.
	CacheTTL time.Duration `json:"cacheTTL,omitempty"`
}

// Limits on what Record accepts.
const (
	// MaxTokens is the most tokens of one kind a single Usage may carry.
	MaxTokens = 1 << 40
	// MaxIDLength is the longest client ID, usage ID or model name, in bytes.
	MaxIDLength = 256
	// MaxClockSkew is how far in the future a Usage.Time may be (another
	// process's clock may run ahead); such a usage counts in the current hour.
	MaxClockSkew = 5 * time.Minute
	// MaxCacheTTL is the longest Usage.CacheTTL: the longest time to live
	// of the API's prompt cache.
	MaxCacheTTL = time.Hour
)

// record checks u against now and fills rec with it as the store adds it,
// its ID remembered for remember after its time within rememberBytes.
// A problem names the field and the value.
func (u *Usage) record(now time.Time, remember time.Duration, rememberBytes int64, rec *store.UsageRecord) error {
	cost, err := store.FromUSD(u.CostUSD)
	if err != nil {
		return fmt.Errorf("usage.costUSD: %w", err)
	}
	if t := &u.Tokens; uint64(t.Input) > MaxTokens || uint64(t.Output) > MaxTokens ||
		uint64(t.CacheWrite) > MaxTokens || uint64(t.CacheRead) > MaxTokens {
		return tokensProblem(*t)
	}
	switch sec := u.Time.Unix(); {
	case u.Time.IsZero():
		return fmt.Errorf("usage.time is zero: say when the request happened")
	case u.Time.Sub(now) > MaxClockSkew:
		return fmt.Errorf("usage.time %v is more than %v after now (%v)", u.Time.UTC(), MaxClockSkew, now.UTC())
	case sec < (store.HourOf(now)-store.WeekHours+1)*3600:
		return fmt.Errorf("usage.time %v is older than the week the pool keeps (since %v)", u.Time.UTC(), weekWindow(now).Start)
	}
	if u.CacheTTL < 0 || u.CacheTTL > MaxCacheTTL {
		return fmt.Errorf("usage.cacheTTL: %v is outside 0..%v", u.CacheTTL, MaxCacheTTL)
	}
	if err := checkText("usage.id", u.ID, true); err != nil {
		return err
	}
	if err := checkText("usage.model", u.Model, true); err != nil {
		return err
	}
	if err := checkText("usage.subscriptionId", u.SubscriptionID, true); err != nil {
		return err
	}
	if err := checkText("usage.pricedAs", u.PricedAs, true); err != nil {
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
		if k.n < 0 || k.n > MaxTokens {
			return fmt.Errorf("usage.tokens.%s: %d is outside 0..%d", k.name, k.n, int64(MaxTokens))
		}
	}
	return nil
}

// CheckID says what is wrong with an ID the pool would refuse — a client's,
// or one that becomes a client's, such as a proxy caller's — naming it field
// ("id is empty"): empty, longer than MaxIDLength bytes, not valid UTF-8, or
// holding a control character. It returns nil for a usable ID.
func CheckID(field, id string) error { return checkText(field, id, false) }

// checkText checks an ID-like string: valid UTF-8, no control characters, at
// most MaxIDLength bytes, and not empty unless optional.
func checkText(field, s string, optional bool) error {
	if (s != "" || optional) && len(s) <= MaxIDLength && printableASCII(s) {
		return nil
	}
	return textProblem(field, s, optional)
}

// printableASCII reports whether s holds only bytes 0x20 to 0x7e, looking at
// eight bytes at a time.
func printableASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	bad := func(t string) bool {
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		// A high bit in w, in w-0x20 (a byte below 0x20) or in w+1 (0x7f).
		return (w|(w-0x20*ones)|(w+ones))&highs != 0
	}
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 <= len(s); i += 8 {
		if bad(s[i : i+8]) {
			return false
		}
	}
	return !bad(s[len(s)-8:])
}

// textProblem says what is wrong with s for checkText, or returns nil if
// nothing is (s is valid text beyond ASCII).
func textProblem(field, s string, optional bool) error {
	switch {
	case s == "" && !optional:
		return fmt.Errorf("%s is empty", field)
	case len(s) > MaxIDLength:
		return fmt.Errorf("%s is %d bytes long, more than %d", field, len(s), MaxIDLength)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return fmt.Errorf("%s %q is not valid UTF-8 (byte %d)", field, s, i)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("%s %q holds a control character (byte %d)", field, s, i)
		}
		i += n
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
	block       Window
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
	if b.Mode == BlockFixed {
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
	if b.Mode == BlockAnchored && startsBlock(m.anchor, hour, b.Hours) {
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
