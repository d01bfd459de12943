package transcript

import (
	"encoding/json"
	"time"
)

// This file holds the rows of a Report: tokens, hours, blocks, days,
// sessions and totals, as ccusage's JSON output names them.

// UsageTokens are the tokens of a block, by kind (ccusage's tokenCounts).
// CacheCreationInputTokens counts the 5-minute and 1-hour cache writes
// together (docs/formats.md §3).
type UsageTokens struct {
	InputTokens              int64 `json:"inputTokens"`
	OutputTokens             int64 `json:"outputTokens"`
	CacheCreationInputTokens int64 `json:"cacheCreationInputTokens"`
	CacheReadInputTokens     int64 `json:"cacheReadInputTokens"`
}

// Total is every token of every kind.
func (t UsageTokens) Total() int64 {
	return t.InputTokens + t.OutputTokens + t.CacheCreationInputTokens + t.CacheReadInputTokens
}

// UsageHour is the usage of one UTC hour: the entries of the entry reader
// (as blocks count them, docs/formats.md §4) in that hour.
type UsageHour struct {
	Start   time.Time   `json:"start"`
	Entries int         `json:"entries"`
	Tokens  UsageTokens `json:"tokens"`
	CostUSD float64     `json:"costUSD"`
}

// UsageBlock is a ccusage session block (docs/formats.md §4): from the first
// entry's hour, floored, for BlockLength, ended early by a pause longer
// than BlockLength, which is a gap block of its own. It marshals as
// ccusage's JSON does.
type UsageBlock struct {
	// ID is the start as RFC 3339 with milliseconds, "gap-" before it for
	// a gap.
	ID        string    `json:"id"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	// ActualEndTime is the last entry's time (zero for a gap).
	ActualEndTime time.Time `json:"actualEndTime"`
	IsActive      bool      `json:"isActive"`
	IsGap         bool      `json:"isGap"`
	// Entries counts the block's entries, <synthetic> ones included.
	Entries     int         `json:"entries"`
	TokenCounts UsageTokens `json:"tokenCounts"`
	TotalTokens int64       `json:"totalTokens"`
	CostUSD     float64     `json:"costUSD"`
	// Models lists the models in the order first used (a fast-mode
	// model as <model>-fast; <synthetic> not at all).
	Models []string `json:"models"`
	// BurnRate and Projection are set for the active block with entries
	// at two different times.
	BurnRate   *BurnRate   `json:"burnRate"`
	Projection *Projection `json:"projection"`
	// UsageLimitResetTime is when the limit an old-style API error line
	// reported resets (zero if none did).
	UsageLimitResetTime time.Time `json:"usageLimitResetTime,omitzero"`
}

// MarshalJSON writes the block as ccusage does: times as RFC 3339 with
// milliseconds, a gap's actualEndTime null.
func (b UsageBlock) MarshalJSON() ([]byte, error) {
	type plain UsageBlock
	v := struct {
		plain
		StartTime           string  `json:"startTime"`
		EndTime             string  `json:"endTime"`
		ActualEndTime       *string `json:"actualEndTime"`
		UsageLimitResetTime string  `json:"usageLimitResetTime,omitempty"`
	}{plain: plain(b), StartTime: txMillis(b.StartTime), EndTime: txMillis(b.EndTime)}
	if !b.ActualEndTime.IsZero() {
		s := txMillis(b.ActualEndTime)
		v.ActualEndTime = &s
	}
	if !b.UsageLimitResetTime.IsZero() {
		v.UsageLimitResetTime = txMillis(b.UsageLimitResetTime)
	}
	return json.Marshal(v)
}

// txMillis formats t as ccusage does: RFC 3339 in UTC with milliseconds.
func txMillis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// BurnRate is how fast the active block spends (docs/formats.md §4): per minute
// between its first and last entries.
type BurnRate struct {
	TokensPerMinute float64 `json:"tokensPerMinute"`
	// TokensPerMinuteForIndicator counts input and output tokens only.
	TokensPerMinuteForIndicator float64 `json:"tokensPerMinuteForIndicator"`
	CostPerHour                 float64 `json:"costPerHour"`
}

// Projection is where the active block ends at its burn rate (docs/formats.md
// §4): TotalCost is rounded to the cent, RemainingMinutes to the minute.
type Projection struct {
	TotalTokens      int64   `json:"totalTokens"`
	TotalCost        float64 `json:"totalCost"`
	RemainingMinutes int64   `json:"remainingMinutes"`
}

// ModelBreakdown is one model's share of a day or a session (ccusage's
// modelBreakdowns, docs/formats.md §4).
type ModelBreakdown struct {
	ModelName           string  `json:"modelName"`
	InputTokens         int64   `json:"inputTokens"`
	OutputTokens        int64   `json:"outputTokens"`
	CacheCreationTokens int64   `json:"cacheCreationTokens"`
	CacheReadTokens     int64   `json:"cacheReadTokens"`
	Cost                float64 `json:"cost"`
	// MissingPricing is set when some of the model's tokens had no price.
	MissingPricing bool `json:"missingPricing,omitempty"`
}

// UsageSummary is the usage of a day or a session: a row of `ccusage claude
// daily|session --json` (docs/formats.md §4).
type UsageSummary struct {
	InputTokens         int64   `json:"inputTokens"`
	OutputTokens        int64   `json:"outputTokens"`
	CacheCreationTokens int64   `json:"cacheCreationTokens"`
	CacheReadTokens     int64   `json:"cacheReadTokens"`
	TotalTokens         int64   `json:"totalTokens"`
	TotalCost           float64 `json:"totalCost"`
	// ModelsUsed lists the models in the order first used.
	ModelsUsed []string `json:"modelsUsed"`
	// ModelBreakdowns is per model, most expensive first.
	ModelBreakdowns []ModelBreakdown `json:"modelBreakdowns"`
}

// UsageDay is the usage of one day in Options.Location (a row of
// ccusage's daily report, docs/formats.md §4).
type UsageDay struct {
	// Date is the day, YYYY-MM-DD.
	Date string `json:"date"`
	UsageSummary
}

// UsageSession is the usage of one session: a transcript with its
// subagents' transcripts (a row of ccusage's session report, docs/formats.md
// §3 and §4).
type UsageSession struct {
	// SessionID is the transcript file's name without .jsonl (or, for a
	// file deeper in the tree, its directory's name); ProjectPath the
	// path of its project directory under projects/, as ccusage names
	// them.
	SessionID     string    `json:"sessionId"`
	ProjectPath   string    `json:"projectPath"`
	FirstActivity time.Time `json:"firstActivity"`
	LastActivity  time.Time `json:"lastActivity"`
	UsageSummary
}

// MarshalJSON writes the session as ccusage does, times with milliseconds.
func (s UsageSession) MarshalJSON() ([]byte, error) {
	type plain UsageSession
	return json.Marshal(struct {
		plain
		FirstActivity string `json:"firstActivity"`
		LastActivity  string `json:"lastActivity"`
	}{plain(s), txMillis(s.FirstActivity), txMillis(s.LastActivity)})
}

// UsageTotals adds up the rows of a report (ccusage's "totals", docs/formats.md
// §4).
type UsageTotals struct {
	InputTokens         int64   `json:"inputTokens"`
	OutputTokens        int64   `json:"outputTokens"`
	CacheCreationTokens int64   `json:"cacheCreationTokens"`
	CacheReadTokens     int64   `json:"cacheReadTokens"`
	TotalTokens         int64   `json:"totalTokens"`
	TotalCost           float64 `json:"totalCost"`
	// UnpricedModels lists the breakdowns' models with MissingPricing,
	// sorted.
	UnpricedModels []string `json:"unpricedModels,omitempty"`
}
