package transcript

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"
)

// FuzzTranscriptLine reads a file of one line, or a few, as a transcript:
// it must never panic, never count a negative token, its reports must add
// up, and each line's fate must be consistent across the reports
// (txCheckFate).
func FuzzTranscriptLine(f *testing.F) {
	f.Add([]byte(txL{ts: "2025-11-10T12:50:12.000Z", msg: "msg_01", req: "req_01", in: 4, out: 742, cw: 1200, cr: 48000, split: &[2]int64{1200, 0}}.String()))
	f.Add([]byte(txL{ts: "2025-11-10T12:50:12Z", msg: "m", out: 1, speed: "fast", model: "claude-opus-4-6", side: &txTrue}.String() + "\n" +
		txL{ts: "2025-11-10T12:50:12+01:00", msg: "m", req: "r", out: 2}.String()))
	f.Add([]byte(`{"type":"progress","data":{"message":{"timestamp":"2025-04-01T00:10:00.000Z","requestId":"rp","message":{"id":"mp","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":0,"output_tokens":7}}}}}`))
	f.Add([]byte(`{"timestamp":"2025-04-01T00:10:00.000Z","message":{"id":"m\u0041","usage":{"input_tokens":1,"output_tokens":5,"speed":"f\u0061st","cache_creation":null}},"x":"\ud800","isApiErrorMessage":true,"y":"Claude AI usage limit reached|1762826400"}`))
	f.Add([]byte(`{"cwd":null,"usage":{`))
	f.Add([]byte("{\"usage\":{\"input_tokens\":1e400}}\n\xff\n  \n[[[["))
	// Lines the null rule decides (transcript_null.go), and their
	// counterparts without null.
	ok := txL{ts: "2025-04-01T00:10:00.000Z", msg: "m", req: "r", out: 7}
	for _, extra := range []string{",\"x\":\"\xff\"", `,"x":"\ud800"`, `,"x":"\udc00"`, `,"x":1e400`, `,"x":{"a":1,"\u0061":2}`,
		`,"x":` + strings.Repeat("[", 127) + strings.Repeat("]", 127), `,"x":[{"\u0069d":0,"m":{"\u0069d":null}}]`} {
		l := ok
		l.extra = extra
		f.Add([]byte(l.String()))
		l.extra = extra + `,"y":null`
		f.Add([]byte(l.String()))
	}
	f.Add([]byte(strings.Replace(ok.String(), `"output_tokens":7`, `"output_tokens":7,"iterations":[{"model":null,"x":{"model":null}}]`, 1)))
	f.Add([]byte(strings.Replace(ok.String(), `"output_tokens":7`, `"output_tokens":7,"iterations":[{"type":"message","model": null}]`, 1)))
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
			// It applies the null rule as txNullOracle does.
			if ours && bytes.Contains(line, txNullMarker) {
				strict, field := txNullOracle(line)
				if drop := l.nullRule(); (drop != "") != (!strict || field != "") {
					t.Fatalf("line %q: null rule %q; oracle: strict %v, null member %q", line, drop, strict, field)
				}
			}
		}
		for i, line := range bytes.SplitN(data, []byte("\n"), 5) {
			if i < 4 {
				txCheckFate(t, line)
			}
		}
		fsys := fstest.MapFS{"projects/p/s.jsonl": {Data: data}, "projects/p/s/subagents/a.jsonl": {Data: data}}
		now := time.Date(2025, 11, 10, 14, 0, 0, 0, time.UTC)
		for _, mode := range []CostMode{CostAuto, CostCalculate} {
			r, err := Read(context.Background(), []Root{{Path: "/f", FS: fsys}}, Options{Now: now, Mode: mode, MaxLine: 4096})
			if err != nil {
				t.Fatal(err)
			}
			txCheckReport(t, r)
		}
	})
}

// txCheckReport checks that a report's numbers are sane and add up.
func txCheckReport(t *testing.T, r *Report) {
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

// txCheckFate reads line alone and checks that the reports agree on it:
// the entry reader's (blocks, hours, sessions) all count it or none does;
// a line holding null that ccusage's null rule refuses (by txNullOracle)
// is counted by no report; and the entry reader counts a line the daily
// reader refuses only when the line holds no null and a strict reading
// refuses it.
func txCheckFate(t *testing.T, line []byte) {
	t.Helper()
	fsys := fstest.MapFS{"projects/p/s.jsonl": {Data: line}}
	r, err := Read(context.Background(), []Root{{Path: "/f", FS: fsys}}, Options{MaxLine: 4096})
	if err != nil {
		t.Fatal(err)
	}
	entries := 0
	for _, b := range r.Blocks {
		entries += b.Entries
	}
	blocks, days := entries > 0, len(r.Days) > 0
	if (len(r.Hours) > 0) != blocks || (len(r.Sessions) > 0) != blocks || blocks != (r.Stats.Entries > 0) || days != (r.Stats.DailyEntries > 0) {
		t.Fatalf("line %q: %d block entries, %d hours, %d sessions, %d days; stats %+v", line, entries, len(r.Hours), len(r.Sessions), len(r.Days), r.Stats)
	}
	if len(line) > 4096 {
		return
	}
	null := bytes.Contains(line, []byte("null"))
	strict, nullField := txNullOracle(line)
	if null && (!strict || nullField != "") && (blocks || days) {
		t.Fatalf("line %q holds null and fails the null rule (strict %v, null %q), yet blocks count it %v, daily %v", line, strict, nullField, blocks, days)
	}
	if blocks && !days && (null || strict) {
		t.Fatalf("line %q (null %v, strict %v): blocks count it, daily does not", line, null, strict)
	}
}

// txNullOracle reads a line as ccusage's null rule does, with
// encoding/json rather than our scanner: strict says the line is JSON whose
// strings are valid UTF-8 without lone surrogate escapes, nesting at most
// 127 deep, with numbers in float range and no object naming a member
// twice; nullField names a member ccusage refuses to see null that is null
// ("" if none).
func txNullOracle(line []byte) (strict bool, nullField string) {
	if !json.Valid(line) || !utf8.Valid(line) || txLoneSurrogate(line) {
		return false, ""
	}
	strict = true
	var path []txFrame
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	for {
		tok, err := d.Token()
		if err != nil {
			return strict, nullField
		}
		top := len(path) - 1
		if name, ok := tok.(string); ok && top >= 0 && path[top].obj && path[top].keyNext {
			if path[top].names[name] {
				strict = false
			}
			path[top].names[name], path[top].key, path[top].keyNext = true, name, false
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				path = append(path, txFrame{obj: v == '{', keyNext: v == '{', names: map[string]bool{}})
				if len(path) > 127 {
					strict = false
				}
				continue
			}
			path = path[:top]
		case json.Number:
			if f, _ := strconv.ParseFloat(string(v), 64); math.IsInf(f, 0) {
				strict = false
			}
		case nil:
			if top >= 0 && path[top].obj && nullField == "" && !txIterationModel(path) {
				switch k := path[top].key; k {
				case "id", "cwd", "model", "speed", "costUSD", "version", "sessionId", "requestId", "isApiErrorMessage",
					"cache_read_input_tokens", "cache_creation_input_tokens":
					nullField = k
				}
			}
		}
		if n := len(path); n > 0 && path[n-1].obj {
			path[n-1].keyNext = true // a member's value was read
		}
	}
}

// txFrame is an open container of txNullOracle.
type txFrame struct {
	obj, keyNext bool
	key          string // the member being read
	names        map[string]bool
}

// txIterationModel reports whether path (innermost last) is at the model
// of an element of message.usage.iterations or
// data.message.message.usage.iterations.
func txIterationModel(path []txFrame) bool {
	var keys []string
	for _, f := range path[:len(path)-1] {
		if f.obj {
			keys = append(keys, f.key)
		} else {
			keys = append(keys, "[]")
		}
	}
	at := strings.Join(keys, "/")
	return path[len(path)-1].obj && path[len(path)-1].key == "model" &&
		(at == "message/usage/iterations/[]" || at == "data/message/message/usage/iterations/[]")
}

// txLoneSurrogate reports whether a string of a JSON text holds a \u
// escape of a surrogate that is not half of a pair.
func txLoneSurrogate(text []byte) bool {
	hex := func(i int) (rune, bool) {
		if i+6 > len(text) || text[i] != '\\' || text[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(text[i+2:i+6]), 16, 16)
		return rune(v), err == nil
	}
	in := false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			in = !in
		case c == '\\' && in:
			r, ok := hex(i)
			switch {
			case !ok:
				i++ // a one-character escape
			case r >= 0xdc00 && r <= 0xdfff:
				return true
			case r >= 0xd800 && r <= 0xdbff:
				if lo, ok := hex(i + 6); !ok || lo < 0xdc00 || lo > 0xdfff {
					return true
				}
				i += 11
			default:
				i += 5
			}
		}
	}
	return false
}
