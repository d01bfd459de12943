package transcript

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/internal/bounds"
)

// This file is the public side of transcript accounting: Claude Code's
// JSONL transcripts (docs/formats.md §3) read by ccusage 20.0.24's rules
// (§3–§5) into usage per hour, per 5-hour block, per day and per session,
// and a pool warmed from them. The files: transcript_read.go runs the
// reading, transcript_list.go finds the files, transcript_worker.go reads
// them line by line, transcript_entry.go turns lines into records,
// transcript_parse.go (with the field kinds of transcript_fields.go, over
// the JSON scanner of transcript_json.go and transcript_json_string.go)
// reads a line's fields, transcript_rules.go holds ccusage's other line
// rules, transcript_dedup.go de-duplicates and transcript_report.go
// accounts.
//
// Where ccusage 20.0.24 (the binary) does something docs/formats.md does not say,
// the binary was followed; testdata/ccusage/README.md lists the differences
// and compare.sh beside it checks the agreement.

// Root is one Claude configuration directory: the directory
// holding projects/, whose JSONL files (recursively) are the transcripts
// (docs/formats.md §3).
type Root struct {
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
		dir = filepath.Clean(dir) // "/a/" is "/a": its transcripts are read once
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

// Roots returns a root reading each directory from the disk, for
// the directories of ConfigDirs (docs/formats.md §3).
func Roots(dirs []string) []Root {
	roots := make([]Root, len(dirs))
	for i, d := range dirs {
		roots[i] = Root{Path: d}
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

// Defaults of Options (docs/formats.md §4).
const (
	// DefaultBlockLength is the length of a usage block: 5 hours.
	DefaultBlockLength = 5 * time.Hour
	// DefaultMaxLine is the longest line read, in bytes: 16 MiB.
	DefaultMaxLine = 16 << 20
	// DefaultMaxProblems is how many problems a report lists.
	DefaultMaxProblems = 100
)

// minMaxLine is the least Options.MaxLine: a buffer of fewer bytes could
// not keep a long line's tail while looking for the usage marker.
const minMaxLine = 64

// Options are how Read reads and accounts. The zero
// value accounts as `ccusage claude blocks|daily|session --json --offline -z
// UTC` does (docs/formats.md §4), with no block active, except for the
// prices of models ccusage does not know (see Prices).
type Options struct {
	// Mode is where costs come from. The default is CostAuto.
	Mode CostMode
	// Prices prices the tokens, with ccusage's per-kind long-context tiers
	// (claude.PerKind). The default is claude.DefaultPrices(): every Claude model has a
	// cost, a model without a price of its own at an estimate (its
	// family's newest model's price, or the fallback) listed in the
	// report's EstimatedPrices (docs/prices.md). ccusage 20.0.24 prices a
	// model it does not know — Claude Code's current default models among
	// them — at $0 and lists it as unpriced: give claude.CcusagePrices() to
	// reproduce its reports exactly (MissingPrices then lists those).
	Prices *claude.Prices
	// Now is the time the report is for: it decides which block is active
	// (and its burn rate and projection) and which entries are the last
	// week's (Report.Recent). Zero means no block is active and
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
	// DefaultMaxLine; a value under 64 counts as 64.
	MaxLine int
	// MaxProblems is how many problems the report lists (all are counted).
	// The default is DefaultMaxProblems; negative lists none.
	MaxProblems int
	// Workers is how many files are read at once. The default is
	// GOMAXPROCS.
	Workers int
}

// Report is what a transcript tree used (docs/formats.md §3–§5). Hours,
// Blocks, Sessions and Recent come from ccusage's entry reader, Days from
// its daily reader; the two differ in what they de-duplicate (a sidechain's
// replay of a message counts in the first, not in the second) and in what
// lines they accept, as ccusage's blocks and daily reports do.
type Report struct {
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
	Recent []Entry `json:"recent,omitempty"`
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
	Stats Stats `json:"stats"`
	// Problems are the first lines skipped for being malformed, or for
	// ccusage's filters, in reading order; Stats counts them all.
	Problems []Problem `json:"problems,omitempty"`
}

// Stats counts what Read read: lines of all types,
// and the usage lines of docs/formats.md §3.
type Stats struct {
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

// Problem is a line (or a file, with Line 0) that was skipped:
// not JSON, or a usage line ccusage's filter drops (docs/formats.md §3).
type Problem struct {
	File    string `json:"file"`
	Line    int64  `json:"line,omitempty"`
	Problem string `json:"problem"`
}

// String returns the problem as file:line: problem.
func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Problem
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Problem)
}

// Entry is one de-duplicated request from the transcripts
// (docs/formats.md §3), priced as Options.Mode says (§4, §5).
type Entry struct {
	// ID identifies the request for the pool: the message id (msg_...),
	// as the Messages API reader records it, or, for a line without one,
	// a digest of where the line is.
	ID      string        `json:"id"`
	Time    time.Time     `json:"time"`
	Model   string        `json:"model,omitempty"`
	Counts  claude.Counts `json:"counts"`
	CostUSD float64       `json:"costUSD"`
	// PricedAs is set when CostUSD is an estimate (the report's
	// EstimatedPrices): what the model was priced as (Resolution.PricedAs).
	PricedAs string `json:"pricedAs,omitempty"`
	// Session is the session's ID (UsageSession.SessionID).
	Session string `json:"session"`
}

// Usage returns the entry as the pool records it: cache writes of both
// lifetimes together, and no model (or PricedAs) when its name is not one
// the pool accepts.
func (e Entry) Usage() authpool.Usage {
	u := authpool.Usage{ID: e.ID, Time: e.Time, CostUSD: e.CostUSD, Tokens: e.Counts.Tokens(), Model: e.Model, PricedAs: e.PricedAs}
	if len(u.Model) > bounds.MaxIDLength || !txPrintable([]byte(u.Model)) {
		u.Model = ""
	}
	if len(u.PricedAs) > bounds.MaxIDLength || !txPrintable([]byte(u.PricedAs)) {
		u.PricedAs = ""
	}
	return u
}
