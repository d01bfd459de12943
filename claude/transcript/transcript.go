package claude

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// This file is the public side of transcript accounting: Claude Code's
// JSONL transcripts (docs/formats.md §3) read by ccusage 20.0.24's rules
// (§3–§5) into usage per hour, per 5-hour block, per day and per session,
// and a pool warmed from them. The files: transcript_read.go finds and
// reads the files, transcript_entry.go turns lines into records,
// transcript_parse.go (over the JSON scanner of transcript_json.go) reads a
// line's fields, transcript_rules.go holds ccusage's other line rules,
// transcript_dedup.go de-duplicates and transcript_report.go accounts.
//
// Where ccusage 20.0.24 (the binary) does something docs/formats.md does not say,
// the binary was followed; testdata/ccusage/README.md lists the differences
// and compare.sh beside it checks the agreement.

// TranscriptRoot is one Claude configuration directory: the directory
// holding projects/, whose JSONL files (recursively) are the transcripts
// (docs/formats.md §3).
type TranscriptRoot struct {
	// Path is the directory's path. Files are read in the byte order of
	// their full path (Path joined with the path inside FS), as ccusage
	// reads them, and problems name them by it.
	Path string
	// FS holds the directory's contents. Nil means os.DirFS(Path).
	FS fs.FS
}

// ConfigDirs returns the Claude configuration directories that have a
// projects directory, as ccusage finds them (docs/formats.md §3): each
// comma-separated entry of CLAUDE_CONFIG_DIR when it is set (an entry naming
// a projects directory stands for its parent), and only those; otherwise
// $XDG_CONFIG_HOME/claude (default ~/.config/claude) and ~/.claude. It is an
// error if none has a projects directory. A nil getenv means os.Getenv, a
// nil stat os.Stat.
func ConfigDirs(getenv func(string) string, stat func(string) (fs.FileInfo, error)) ([]string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if stat == nil {
		stat = os.Stat
	}
	var dirs []string
	seen := make(map[string]bool)
	add := func(dir string) {
		if fi, err := stat(filepath.Join(dir, "projects")); err == nil && fi.IsDir() && !seen[dir] {
			seen[dir] = true
			dirs = append(dirs, dir)
		}
	}
	if env := getenv("CLAUDE_CONFIG_DIR"); env != "" {
		for _, dir := range strings.Split(env, ",") {
			dir = strings.TrimSpace(dir)
			if dir == "" {
				continue
			}
			if filepath.Base(dir) == "projects" {
				if fi, err := stat(filepath.Join(dir, "projects")); err != nil || !fi.IsDir() {
					dir = filepath.Dir(dir)
				}
			}
			add(dir)
		}
		if len(dirs) == 0 {
			return nil, fmt.Errorf("claude: no directory in CLAUDE_CONFIG_DIR=%q has a projects directory", env)
		}
		return dirs, nil
	}
	home := getenv("HOME")
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		add(filepath.Join(xdg, "claude"))
	}
	if home != "" {
		add(filepath.Join(home, ".claude"))
	}
	if len(dirs) == 0 {
		return nil, errors.New("claude: no Claude configuration directory with a projects directory (looked in $XDG_CONFIG_HOME/claude and ~/.claude; set CLAUDE_CONFIG_DIR)")
	}
	return dirs, nil
}

// TranscriptRoots returns a root reading each directory from the disk, for
// the directories of ConfigDirs (docs/formats.md §3).
func TranscriptRoots(dirs []string) []TranscriptRoot {
	roots := make([]TranscriptRoot, len(dirs))
	for i, d := range dirs {
		roots[i] = TranscriptRoot{Path: d}
	}
	return roots
}

// CostMode says where an entry's cost comes from (ccusage's --mode,
// docs/formats.md §4).
type CostMode uint8

const (
	// CostAuto takes the line's costUSD when it has one (old Claude Code
	// versions wrote it) and computes the cost from its tokens otherwise.
	// The default.
	CostAuto CostMode = iota
	// CostCalculate always computes the cost from the tokens.
	CostCalculate
	// CostDisplay takes the line's costUSD, or 0.
	CostDisplay
)

// String returns the mode's ccusage name: auto, calculate or display.
func (m CostMode) String() string {
	switch m {
	case CostAuto:
		return "auto"
	case CostCalculate:
		return "calculate"
	case CostDisplay:
		return "display"
	}
	return fmt.Sprintf("CostMode(%d)", uint8(m))
}

// Defaults of TranscriptOptions (docs/formats.md §4).
const (
	// DefaultBlockLength is the length of a usage block: 5 hours.
	DefaultBlockLength = 5 * time.Hour
	// DefaultMaxTranscriptLine is the longest line read, in bytes: 16 MiB.
	DefaultMaxTranscriptLine = 16 << 20
	// DefaultMaxProblems is how many problems a report lists.
	DefaultMaxProblems = 100
)

// TranscriptOptions are how ReadTranscripts reads and accounts. The zero
// value accounts as `ccusage claude blocks|daily|session --json --offline -z
// UTC` does (docs/formats.md §4), with no block active, except for the
// prices of models ccusage does not know (see Prices).
type TranscriptOptions struct {
	// Mode is where costs come from. The default is CostAuto.
	Mode CostMode
	// Prices prices the tokens, with ccusage's per-kind long-context tiers
	// (PerKind). The default is DefaultPrices(): every Claude model has a
	// cost, a model without a price of its own at an estimate (its
	// family's newest model's price, or the fallback) listed in the
	// report's EstimatedPrices (docs/prices.md). ccusage 20.0.24 prices a
	// model it does not know — Claude Code's current default models among
	// them — at $0 and lists it as unpriced: give CcusagePrices() to
	// reproduce its reports exactly (MissingPrices then lists those).
	Prices *Prices
	// Now is the time the report is for: it decides which block is active
	// (and its burn rate and projection) and which entries are the last
	// week's (TranscriptReport.Recent). Zero means no block is active and
	// Recent is empty.
	Now time.Time
	// Location is where days begin (ccusage's --timezone). The default is
	// UTC.
	Location *time.Location
	// BlockLength is the length of a block (ccusage's --session-length).
	// The default is DefaultBlockLength.
	BlockLength time.Duration
	// MaxLine is the longest line read, in bytes; a longer line is skipped,
	// and reported if it held usage. The default is
	// DefaultMaxTranscriptLine.
	MaxLine int
	// MaxProblems is how many problems the report lists (all are counted).
	// The default is DefaultMaxProblems; negative lists none.
	MaxProblems int
	// Workers is how many files are read at once. The default is
	// GOMAXPROCS.
	Workers int
}

// TranscriptReport is what a transcript tree used (docs/formats.md §3–§5). Hours,
// Blocks, Sessions and Recent come from ccusage's entry reader, Days from
// its daily reader; the two differ in what they de-duplicate (a sidechain's
// replay of a message counts in the first, not in the second) and in what
// lines they accept, as ccusage's blocks and daily reports do.
type TranscriptReport struct {
	// Hours is the usage of each UTC hour with any, oldest first.
	Hours []UsageHour `json:"hours"`
	// Blocks are the 5-hour blocks, with the gaps between them, oldest
	// first: the "blocks" of `ccusage claude blocks --json`.
	Blocks []UsageBlock `json:"blocks"`
	// Days is the usage of each day with any, oldest first: the "daily"
	// of `ccusage claude daily --json`, and DayTotals its "totals".
	Days      []UsageDay  `json:"daily"`
	DayTotals UsageTotals `json:"dailyTotals"`
	// Sessions is the usage of each session: the "sessions" of `ccusage
	// claude session --json`, and SessionTotals its "totals".
	Sessions      []UsageSession `json:"sessions"`
	SessionTotals UsageTotals    `json:"sessionTotals"`
	// Recent are the entries of the week before Now (store.WeekHours
	// hours), oldest first: what WarmPool charges.
	Recent []TranscriptEntry `json:"recent,omitempty"`
	// MissingPrices lists the models (as they appear in the transcripts)
	// whose tokens had no price, sorted; their cost counts as 0, as ccusage
	// counts it. Only a table without a fallback leaves a model unpriced.
	MissingPrices []string `json:"missingPrices,omitempty"`
	// EstimatedPrices lists the models whose tokens were priced at an
	// estimate (Resolution.Estimate: their family's newest model's price,
	// or the table's fallback), sorted. ccusage lists such models as
	// unpriced, at $0.
	EstimatedPrices []string `json:"estimatedPrices,omitempty"`
	// Stats counts what was read.
	Stats TranscriptStats `json:"stats"`
	// Problems are the first lines skipped for being malformed, or for
	// ccusage's filters, in reading order; Stats counts them all.
	Problems []TranscriptProblem `json:"problems,omitempty"`
}

// TranscriptStats counts what ReadTranscripts read: lines of all types,
// and the usage lines of docs/formats.md §3.
type TranscriptStats struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Lines counts the non-empty lines.
	Lines int64 `json:"lines"`
	// UsageLines counts the lines holding `"usage":{`, the only ones
	// ccusage reads.
	UsageLines int64 `json:"usageLines"`
	// Entries counts the usage lines the entry reader accepted, before
	// de-duplication; Duplicates the entries de-duplication dropped.
	Entries    int64 `json:"entries"`
	Duplicates int64 `json:"duplicates"`
	// DailyEntries and DailyDuplicates are the same for the daily reader.
	DailyEntries    int64 `json:"dailyEntries"`
	DailyDuplicates int64 `json:"dailyDuplicates"`
	// Skipped counts the usage lines neither reader accepted (each is a
	// problem); Malformed the lines without usage that are not a JSON
	// object (a cut write, say: a problem too); LongLines the lines longer
	// than MaxLine (a problem when they held usage).
	Skipped   int64 `json:"skipped"`
	Malformed int64 `json:"malformed"`
	LongLines int64 `json:"longLines"`
	// Unreadable counts the files that could not be opened or read to the
	// end (each is a problem).
	Unreadable int `json:"unreadable"`
}

// TranscriptProblem is a line (or a file, with Line 0) that was skipped:
// not JSON, or a usage line ccusage's filter drops (docs/formats.md §3).
type TranscriptProblem struct {
	File    string `json:"file"`
	Line    int64  `json:"line,omitempty"`
	Problem string `json:"problem"`
}

// String returns the problem as file:line: problem.
func (p TranscriptProblem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Problem
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Problem)
}

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

// UsageDay is the usage of one day in TranscriptOptions.Location (a row of
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

// TranscriptEntry is one de-duplicated request from the transcripts
// (docs/formats.md §3), priced as TranscriptOptions.Mode says (§4, §5).
type TranscriptEntry struct {
	// ID identifies the request for the pool: the message id (msg_...),
	// as the Messages API reader records it, or, for a line without one,
	// a digest of where the line is.
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Model   string    `json:"model,omitempty"`
	Counts  Counts    `json:"counts"`
	CostUSD float64   `json:"costUSD"`
	// PricedAs is set when CostUSD is an estimate (the report's
	// EstimatedPrices): what the model was priced as (Resolution.PricedAs).
	PricedAs string `json:"pricedAs,omitempty"`
	// Session is the session's ID (UsageSession.SessionID).
	Session string `json:"session"`
}

// Usage returns the entry as the pool records it: cache writes of both
// lifetimes together, and no model (or PricedAs) when its name is not one
// the pool accepts.
func (e TranscriptEntry) Usage() authpool.Usage {
	u := authpool.Usage{ID: e.ID, Time: e.Time, CostUSD: e.CostUSD, Tokens: e.Counts.Tokens(), Model: e.Model, PricedAs: e.PricedAs}
	if len(u.Model) > authpool.MaxIDLength || !txPrintable([]byte(u.Model)) {
		u.Model = ""
	}
	if len(u.PricedAs) > authpool.MaxIDLength || !txPrintable([]byte(u.PricedAs)) {
		u.PricedAs = ""
	}
	return u
}

// Warmed is what WarmPool charged: entries of docs/formats.md §3.
type Warmed struct {
	// Charged counts the entries charged, CostUSD their cost; Refused
	// the entries the pool refused as invalid (its week ends at its own
	// clock, which may be ahead of now).
	Charged int     `json:"charged"`
	CostUSD float64 `json:"costUSD"`
	Refused int     `json:"refused"`
	// TooOld counts the entries the pool refused with
	// authpool.ErrUsageTooOld: older than the usage IDs its store still
	// remembers, so they may have been charged already (raise
	// Config.UsageIDMemoryMiB to warm a busier week).
	TooOld int `json:"tooOld"`
}

// WarmPool charges subscriptionID with the report's entries of the week
// before now (Recent), one Pool.Charge per entry rather than per hour, so
// that the pool starts with what the subscription already spent this block
// and this week, to the entry. Entries of no tokens and no cost are left
// out. Each charge carries the entry's ID (its message id, docs/formats.md §3):
// charging the same entries again, or entries the pool already recorded
// from the API, counts them once, and entries written since count when
// warmed again. The pool remembers an ID for Config.RememberUsageIDs after
// its entry's time (the week, by default, in a store that may outlive the
// process) within Config.UsageIDMemoryMiB; an entry older than what it
// still tells apart is not charged, and is counted in TooOld. It stops at
// the first error other than a refused entry.
func WarmPool(ctx context.Context, p *authpool.Pool, subscriptionID string, r *TranscriptReport, now time.Time) (Warmed, error) {
	var w Warmed
	from := (store.HourOf(now) - store.WeekHours + 1) * 3600
	for _, e := range r.Recent {
		if e.Time.Unix() < from || e.Time.Sub(now) > authpool.MaxClockSkew || e.CostUSD == 0 && e.Counts.Total() == 0 {
			continue
		}
		err := p.Charge(ctx, subscriptionID, e.Usage())
		switch {
		case errors.Is(err, authpool.ErrInvalidUsage):
			w.Refused++
		case errors.Is(err, authpool.ErrUsageTooOld):
			w.TooOld++
		case err != nil:
			return w, fmt.Errorf("claude: warm %q: %w", subscriptionID, err)
		default:
			w.Charged++
			w.CostUSD += e.CostUSD
		}
	}
	return w, nil
}
