package cli

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
)

// This file turns a parsed Result into what the pool takes: usages and the
// signal of how the run ended.

// Usages returns what the run used as the pool records it: one
// authpool.Usage per model, at time at, sorted by model.
//
// When a result line was read (CostKnown), the usages are its Models with
// Claude Code's costUSD, with ID "<session id>/<model>/<result uuid>" (or
// ".../result-<result index>" without a uuid), so that recording the same
// result twice counts once. Models are cumulative for the CLI process (see
// Result): record a process's result once. A model whose costBasis is
// "unknown" (Claude Code had no price for it, and guessed at its default
// model's rate) is priced again with prices, from its summed counts
// (claude.NoTier: the tiers of single requests cannot be told from a sum); when
// that is an estimate too, PricedAs says so. A result with a cost
// (total_cost_usd) but no modelUsage is one usage of that cost, with no
// model and no tokens, ID "<session id>/total/<result uuid>".
//
// The assistant messages no result line accounts for (Trailing) are priced
// with prices, message by message (the long-context tier applies per
// request: claude.PerRequest), and summed per model, with ID
// "<session id>/<model>/partial-<first message id>"; PricedAs names an
// estimate. A model prices cannot price is an error matching
// claude.ErrUnknownModel (claude.DefaultPrices prices every model, at an estimate if need
// be); prices may be nil only when nothing needs pricing. A model with no
// tokens costs 0 without a price.
func (r Result) Usages(prices *claude.Prices, at time.Time) ([]authpool.Usage, error) {
	var out []authpool.Usage
	needPrices := func(model, why string) error {
		return fmt.Errorf("claude: the usage of model %q has no cost from Claude Code (%s): %w", model, why, errNeedPrices)
	}
	if r.CostKnown {
		key := r.UUID
		if key == "" {
			key = "result-" + strconv.Itoa(r.ResultIndex)
		}
		for _, model := range cliSortedKeys(r.Models) {
			m := r.Models[model]
			u := authpool.Usage{
				ID: r.SessionID + "/" + model + "/" + key, Time: at,
				CostUSD: m.CostUSD, Tokens: m.Counts.Tokens(), Model: model, CacheTTL: m.Counts.CacheTTL(),
			}
			if m.CostBasis == "unknown" && (m.Counts.Total() > 0 || m.Counts.WebSearches > 0) {
				if prices == nil {
					return nil, needPrices(model, "its costBasis is unknown")
				}
				q, err := prices.Quote(model, m.Counts, claude.NoTier)
				if err != nil {
					return nil, err
				}
				u.CostUSD, u.PricedAs = q.CostUSD, q.PricedAs()
			}
			out = append(out, u)
		}
		if len(r.Models) == 0 && r.TotalCostUSD > 0 {
			out = append(out, authpool.Usage{ID: r.SessionID + "/total/" + key, Time: at, CostUSD: r.TotalCostUSD})
		}
	}
	if len(r.Trailing) == 0 {
		return out, nil
	}
	key := r.Trailing[0].ID
	if key == "" {
		key = "line" + strconv.Itoa(r.Trailing[0].Line)
	}
	type sum struct {
		counts   claude.Counts
		cost     float64
		pricedAs string
	}
	per := make(map[string]*sum)
	for _, m := range r.Trailing {
		s := per[m.Model]
		if s == nil {
			s = new(sum)
			per[m.Model] = s
		}
		cliAddCounts(&s.counts, m.Counts)
		if m.Counts.Total() == 0 && m.Counts.WebSearches == 0 {
			continue
		}
		if prices == nil {
			return nil, needPrices(m.Model, "the stream had no result line for it")
		}
		q, err := prices.Quote(m.Model, m.Counts, claude.PerRequest)
		if err != nil {
			return nil, err
		}
		s.cost += q.CostUSD
		s.pricedAs = q.PricedAs()
	}
	for _, model := range cliSortedKeys(per) {
		s := per[model]
		out = append(out, authpool.Usage{
			ID: r.SessionID + "/" + model + "/partial-" + key, Time: at,
			CostUSD: s.cost, Tokens: s.counts.Tokens(), Model: model, PricedAs: s.pricedAs, CacheTTL: s.counts.CacheTTL(),
		})
	}
	return out, nil
}

// errNeedPrices: Usages was given no prices, and something needs pricing.
var errNeedPrices = errors.New("no prices given")

// cliSortedKeys returns the keys of m in order.
func cliSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Signal is what the end of a CLI run tells the pool about its
// subscription: the API error the run ended on, if any, and the latest
// rate-limit state (docs/formats.md §0, §1.2, §2.5). It only reports; mapping it
// to what the pool does is the caller's. It is a plain value, safe to read
// from several goroutines.
type Signal struct {
	// Status is the HTTP status of the API error the run ended on (429,
	// 529, 401, ...); 0 when none, or when the error had no status.
	Status int `json:"status,omitempty"`
	// ErrorType is the API's error type (rate_limit_error,
	// overloaded_error, authentication_error, billing_error, ...).
	ErrorType string `json:"errorType,omitempty"`
	// Error is Claude Code's name for the error (usage_limit_reached for a
	// subscription quota).
	Error string `json:"error,omitempty"`
	// TerminalReason is the result's terminal_reason (api_error, ...).
	TerminalReason string `json:"terminalReason,omitempty"`
	// Message is the result text of an error result, for people (and for
	// ResetAt).
	Message string `json:"message,omitempty"`
	// RateLimit is the latest rate-limit state the stream reported; nil
	// for a json result.
	RateLimit *RateLimitInfo `json:"rateLimit,omitempty"`
}

// LimitSignal returns what the run's end says about the subscription's
// limits. For a quota 429 it has Status 429, ErrorType rate_limit_error,
// Error usage_limit_reached and, from a stream, RateLimit with Status
// rejected and the reset time.
func (r Result) LimitSignal() Signal {
	s := Signal{
		Status:         r.APIErrorStatus,
		ErrorType:      r.APIErrorType,
		Error:          r.APIError,
		TerminalReason: r.TerminalReason,
		RateLimit:      r.RateLimit,
	}
	if r.IsError {
		s.Message = r.Text
	}
	return s
}

// Failed reports whether the run ended on an API error, and its HTTP status
// (0 if unknown). Shorthand for r.LimitSignal().Failed().
func (r Result) Failed() (status int, ok bool) { return r.LimitSignal().Failed() }

// Failed reports whether the run ended on an API error (a status, or
// terminal reason api_error), and its HTTP status (0 if unknown, as for a
// connection error).
func (s Signal) Failed() (status int, ok bool) {
	return s.Status, s.Status != 0 || s.TerminalReason == "api_error"
}

// Rejected reports whether the latest rate-limit state rejects a limit it
// names: status rejected with the binding window (rateLimitType), the
// overage, or a window of its own rejected; the quota is then used up until
// RateLimit.ResetsAt. Claude Code 2.1.332 reports status rejected for every
// 429 in OAuth mode, whether or not the answer named a limit
// (docs/claude-code.md): a rejected state that names none only says that a
// 429 came.
func (s Signal) Rejected() bool {
	rl := s.RateLimit
	if rl == nil || rl.Status != string(claude.UnifiedRejected) {
		return false
	}
	if rl.RateLimitType != "" || rl.OverageStatus == string(claude.UnifiedRejected) {
		return true
	}
	for _, w := range rl.Windows {
		if w.Status == string(claude.UnifiedRejected) {
			return true
		}
	}
	return false
}

// ResetAt returns when the limit the run hit resets, and whether that is
// known. A rejected RateLimit with a reset time gives it exactly.
//
// Otherwise (a json result has no rate-limit state) it reads the reset time
// from Claude Code's message, which names a wall-clock time and its zone,
// such as "You've hit your 5-hour limit · resets 12:31pm (UTC)", or, further
// off, "resets Nov 30, 5pm (UTC)". The result carries no clock of its own, so
// the time is placed relative to now, the time the run ended: the first such
// time after now, or for a date the one nearest to now. The message shows
// minutes only (the captured quota reset at 12:31:29 read "12:31pm"), so the
// time returned is the end of that minute: never early. A message in another
// form, without a zone in parentheses, or with a zone this system cannot
// load (time.LoadLocation) gives false.
func (s Signal) ResetAt(now time.Time) (time.Time, bool) {
	if rl := s.RateLimit; rl != nil && rl.Status == string(claude.UnifiedRejected) && !rl.ResetsAt.IsZero() {
		return rl.ResetsAt, true
	}
	return cliParseReset(s.Message, now)
}

// cliResetText matches Claude Code's "resets [Mon D, ]H[:MM]am|pm (Zone)".
var cliResetText = regexp.MustCompile(`\breset(?:s| at) (?:([A-Z][a-z]{2}) (\d{1,2}),? )?(\d{1,2})(?::(\d{2}))? ?([AaPp][Mm]) \(([^()\s]+)\)`)

// cliParseReset reads the reset time of a limit message; see ResetAt.
func cliParseReset(msg string, now time.Time) (time.Time, bool) {
	m := cliResetText.FindStringSubmatch(msg)
	if m == nil {
		return time.Time{}, false
	}
	hour, _ := strconv.Atoi(m[3])
	minute := 0
	if m[4] != "" {
		minute, _ = strconv.Atoi(m[4])
	}
	if hour < 1 || hour > 12 || minute > 59 {
		return time.Time{}, false
	}
	hour %= 12
	if m[5][0] == 'p' || m[5][0] == 'P' {
		hour += 12
	}
	loc, err := time.LoadLocation(m[6])
	if err != nil {
		return time.Time{}, false
	}
	local := now.In(loc)
	if m[1] == "" {
		for d := -1; d <= 2; d++ {
			end := time.Date(local.Year(), local.Month(), local.Day()+d, hour, minute, 0, 0, loc).Add(time.Minute)
			if end.After(now) {
				return end.UTC(), true
			}
		}
		return time.Time{}, false
	}
	month, err := time.Parse("Jan", m[1])
	day, _ := strconv.Atoi(m[2])
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	var best time.Time
	for y := local.Year() - 1; y <= local.Year()+1; y++ {
		t := time.Date(y, month.Month(), day, hour, minute, 0, 0, loc)
		if t.Day() != day {
			continue // no such day that year
		}
		end := t.Add(time.Minute)
		if best.IsZero() || cliAbs(end.Sub(now)) < cliAbs(best.Sub(now)) {
			best = end
		}
	}
	return best.UTC(), !best.IsZero()
}

// cliAbs is the absolute value of d.
func cliAbs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
