// Package transcript reads Claude Code's transcripts (the JSONL files under
// <config>/projects) into usage per hour, per 5-hour block, per day and per
// session, accounted exactly as ccusage 20.0.24 accounts them, and warms a
// pool with what a subscription already spent.
//
//	dirs, err := transcript.ConfigDirs(nil, nil) // CLAUDE_CONFIG_DIR, or ~/.claude and ~/.config/claude
//	rep, err := transcript.Read(ctx, transcript.Roots(dirs), transcript.Options{Now: now})
//	w, err := transcript.WarmPool(ctx, pool, "sub-1", rep, now)
//
// # Guarantees
//
// Read streams the files with bounded memory (a line longer than
// Options.MaxLine is a problem, not an allocation) and never fails on a
// bad line: it counts it in Report.Stats and lists it, with its file and
// line, in Report.Problems (up to Options.MaxProblems). Its blocks, days,
// sessions and totals agree with `ccusage claude blocks|daily|session
// --json --offline` to the cent: testdata/ccusage holds ccusage's own
// output for the fixtures and generated trees, and its compare.sh runs
// ccusage again. Prices come from Options.Prices (claude.DefaultPrices by
// default, claude.CcusagePrices for ccusage's own table); unknown models
// are listed, never guessed silently.
//
// WarmPool charges each entry once, under its message id: warming twice,
// or warming entries the pool already recorded from the API, counts them
// once.
//
// docs/claude.md and docs/transcripts.md say more; docs/formats.md §3–§5
// describes the format and ccusage's rules.
package transcript
