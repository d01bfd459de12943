package claude

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzTranscriptLine reads a file of one line, or a few, as a transcript:
// it must never panic, never count a negative token, and its reports must
// add up.
func FuzzTranscriptLine(f *testing.F) {
	f.Add([]byte(txL{ts: "2025-11-10T12:50:12.000Z", msg: "msg_01", req: "req_01", in: 4, out: 742, cw: 1200, cr: 48000, split: &[2]int64{1200, 0}}.String()))
	f.Add([]byte(txL{ts: "2025-11-10T12:50:12Z", msg: "m", out: 1, speed: "fast", model: "claude-opus-4-6", side: &txTrue}.String() + "\n" +
		txL{ts: "2025-11-10T12:50:12+01:00", msg: "m", req: "r", out: 2}.String()))
	f.Add([]byte(`{"type":"progress","data":{"message":{"timestamp":"2025-04-01T00:10:00.000Z","requestId":"rp","message":{"id":"mp","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":0,"output_tokens":7}}}}}`))
	f.Add([]byte(`{"timestamp":"2025-04-01T00:10:00.000Z","message":{"id":"m\u0041","usage":{"input_tokens":1,"output_tokens":5,"speed":"f\u0061st","cache_creation":null}},"x":"\ud800","isApiErrorMessage":true,"y":"Claude AI usage limit reached|1762826400"}`))
	f.Add([]byte(`{"cwd":null,"usage":{`))
	f.Add([]byte("{\"usage\":{\"input_tokens\":1e400}}\n\xff\n  \n[[[["))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The line parser agrees with encoding/json on what is JSON (Go's
		// scanner, like serde's, does not check UTF-8; it limits nesting to
		// 10,000, which a line here cannot reach).
		var l txLine
		for _, line := range bytes.Split(data, []byte("\n")) {
			ours := l.parse(line)
			trimmed := bytes.TrimLeft(line, " \t\r\n")
			if valid := json.Valid(line) && len(trimmed) > 0 && trimmed[0] == '{'; ours != valid {
				t.Fatalf("parse(%q) = %v (%s), json.Valid %v", line, ours, l.s.where, json.Valid(line))
			}
		}
		fsys := fstest.MapFS{"projects/p/s.jsonl": {Data: data}, "projects/p/s/subagents/a.jsonl": {Data: data}}
		now := time.Date(2025, 11, 10, 14, 0, 0, 0, time.UTC)
		for _, mode := range []CostMode{CostAuto, CostCalculate} {
			r, err := ReadTranscripts(context.Background(), []TranscriptRoot{{Path: "/f", FS: fsys}}, TranscriptOptions{Now: now, Mode: mode, MaxLine: 4096})
			if err != nil {
				t.Fatal(err)
			}
			txCheckReport(t, r)
		}
	})
}

// txCheckReport checks that a report's numbers are sane and add up.
func txCheckReport(t *testing.T, r *TranscriptReport) {
	t.Helper()
	var blocks, hours, sessions UsageTokens
	var entries, hourEntries int
	var blockCost, hourCost float64
	add := func(sum *UsageTokens, u UsageTokens) {
		for _, n := range []int64{u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens} {
			if n < 0 {
				t.Fatalf("negative count in %+v", u)
			}
		}
		sum.InputTokens += u.InputTokens
		sum.OutputTokens += u.OutputTokens
		sum.CacheCreationInputTokens += u.CacheCreationInputTokens
		sum.CacheReadInputTokens += u.CacheReadInputTokens
	}
	for _, b := range r.Blocks {
		add(&blocks, b.TokenCounts)
		entries += b.Entries
		blockCost += b.CostUSD
		if b.TotalTokens != b.TokenCounts.Total() || b.EndTime.Before(b.StartTime) {
			t.Fatalf("block %+v", b)
		}
	}
	for _, h := range r.Hours {
		add(&hours, h.Tokens)
		hourEntries += h.Entries
		hourCost += h.CostUSD
	}
	for _, s := range r.Sessions {
		add(&sessions, UsageTokens{s.InputTokens, s.OutputTokens, s.CacheCreationTokens, s.CacheReadTokens})
	}
	var days UsageTokens
	for _, d := range r.Days {
		add(&days, UsageTokens{d.InputTokens, d.OutputTokens, d.CacheCreationTokens, d.CacheReadTokens})
	}
	st := r.Stats
	if blocks != hours || blocks != sessions || entries != hourEntries || int64(entries) != st.Entries-st.Duplicates ||
		math.Abs(blockCost-hourCost) > 1e-6*(1+math.Abs(blockCost)) {
		t.Fatalf("blocks %+v (%d entries, $%v), hours %+v (%d, $%v), sessions %+v; stats %+v", blocks, entries, blockCost, hours, hourEntries, hourCost, sessions, st)
	}
	if days.InputTokens != r.DayTotals.InputTokens || days.CacheReadInputTokens != r.DayTotals.CacheReadTokens {
		t.Fatalf("days %+v, totals %+v", days, r.DayTotals)
	}
	if st.Entries > st.UsageLines || st.DailyEntries > st.UsageLines || st.Duplicates > st.Entries || st.DailyDuplicates > st.DailyEntries ||
		st.UsageLines > st.Lines || st.Skipped > st.UsageLines {
		t.Fatalf("stats %+v", st)
	}
	for _, e := range r.Recent {
		c := e.Counts
		if c.Input < 0 || c.Output < 0 || c.CacheRead < 0 || c.CacheWrite5m < 0 || c.CacheWrite1h < 0 || e.ID == "" {
			t.Fatalf("recent entry %+v", e)
		}
	}
}
