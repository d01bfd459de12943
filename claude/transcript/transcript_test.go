package transcript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/google/go-cmp/cmp"
)

// txL builds a usage line as Claude Code writes it (docs/formats.md §3), with
// the fields the cases change.
type txL struct {
	ts, msg, req, model, speed, session, version string
	in, out, cw, cr                              int64
	split                                        *[2]int64
	side                                         *bool
	cost                                         float64
	extra                                        string // more top-level fields, with a leading comma
}

func (l txL) String() string {
	if l.model == "" {
		l.model = "claude-sonnet-4-5-20250929"
	}
	if l.session == "" {
		l.session = "s1"
	}
	if l.version == "" {
		l.version = "2.0.31"
	}
	var b strings.Builder
	b.WriteString("{")
	if l.side != nil {
		fmt.Fprintf(&b, `"isSidechain":%v,`, *l.side)
	}
	fmt.Fprintf(&b, `"sessionId":%q,"version":%q,"message":{`, l.session, l.version)
	if l.msg != "" {
		fmt.Fprintf(&b, `"id":%q,`, l.msg)
	}
	fmt.Fprintf(&b, `"model":%q,"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":%d`,
		l.model, l.in, l.cw, l.cr, l.out)
	if l.split != nil {
		fmt.Fprintf(&b, `,"cache_creation":{"ephemeral_5m_input_tokens":%d,"ephemeral_1h_input_tokens":%d}`, l.split[0], l.split[1])
	}
	if l.speed != "" {
		fmt.Fprintf(&b, `,"speed":%q`, l.speed)
	}
	fmt.Fprintf(&b, `}},"type":"assistant","timestamp":%q`, l.ts)
	if l.req != "" {
		fmt.Fprintf(&b, `,"requestId":%q`, l.req)
	}
	if l.cost != 0 {
		fmt.Fprintf(&b, `,"costUSD":%v`, l.cost)
	}
	b.WriteString(l.extra)
	b.WriteString("}")
	return b.String()
}

var (
	txTrue, txFalse = true, false
	txT0, txT1      = "2025-06-01T01:00:30.000Z", "2025-06-01T01:00:31.000Z"
)

// txRead reads files (name under projects/ → lines) with opts.
func txRead(t testing.TB, files map[string][]string, opts Options) *Report {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, lines := range files {
		fsys["projects/"+name] = &fstest.MapFile{Data: []byte(strings.Join(lines, "\n") + "\n")}
	}
	r, err := Read(context.Background(), []Root{{Path: "/t", FS: fsys}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// txOutputs sums the output tokens of the entry reader (blocks) and the
// daily reader.
func txOutputs(r *Report) (entries int, blocks, daily int64) {
	for _, b := range r.Blocks {
		entries += b.Entries
		blocks += b.TokenCounts.OutputTokens
	}
	return entries, blocks, r.DayTotals.OutputTokens
}

// TestTranscriptBlocks checks the blocks of docs/formats.md §4: floored to the
// hour, a new block past 5 hours since the start or since the last entry,
// gaps, the active block's burn rate and projection.
func TestTranscriptBlocks(t *testing.T) {
	t.Parallel()
	at := func(s string) txL { return txL{ts: s, out: 1000, in: 1000, msg: "m" + s, req: "r"} }
	lines := []string{
		at("2025-11-10T08:10:00.000Z").String(),
		at("2025-11-10T12:59:59.999Z").String(), // within 5 h of 08:00
		at("2025-11-10T13:10:00.000Z").String(), // past 08:00 + 5 h: a new block at 13:00
		at("2025-11-10T18:10:00.000Z").String(), // exactly 5 h after the last entry: same block? no: past 13:00 + 5h
		at("2025-11-11T02:10:00.000Z").String(), // a gap first
		at("2025-11-11T02:40:00.000Z").String(),
		at("2025-11-11T03:40:00.000Z").String(),
	}
	now := time.Date(2025, 11, 11, 4, 10, 30, 0, time.UTC)
	r := txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{Now: now})
	type block struct {
		ID, Start, End, Last string
		Entries              int
		Active               bool
	}
	var got []block
	for _, b := range r.Blocks {
		last := ""
		if !b.ActualEndTime.IsZero() {
			last = txMillis(b.ActualEndTime)
		}
		got = append(got, block{b.ID, txMillis(b.StartTime), txMillis(b.EndTime), last, b.Entries, b.IsActive})
	}
	want := []block{
		{"2025-11-10T08:00:00.000Z", "2025-11-10T08:00:00.000Z", "2025-11-10T13:00:00.000Z", "2025-11-10T12:59:59.999Z", 2, false},
		{"2025-11-10T13:00:00.000Z", "2025-11-10T13:00:00.000Z", "2025-11-10T18:00:00.000Z", "2025-11-10T13:10:00.000Z", 1, false},
		{"2025-11-10T18:00:00.000Z", "2025-11-10T18:00:00.000Z", "2025-11-10T23:00:00.000Z", "2025-11-10T18:10:00.000Z", 1, false},
		{"gap-2025-11-10T23:10:00.000Z", "2025-11-10T23:10:00.000Z", "2025-11-11T02:10:00.000Z", "", 0, false},
		{"2025-11-11T02:00:00.000Z", "2025-11-11T02:00:00.000Z", "2025-11-11T07:00:00.000Z", "2025-11-11T03:40:00.000Z", 3, true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("blocks (-want +got):\n%s", d)
	}
	active := r.Blocks[4]
	// 6000 tokens over 90 minutes; 4000 of them input and output; 3
	// entries of 1000 input and 1000 output at $3 and $15 a million.
	cost := 3 * (1000*3 + 1000*15) / 1e6
	wantRate := &BurnRate{TokensPerMinute: 6000.0 / 90, TokensPerMinuteForIndicator: 6000.0 / 90, CostPerHour: cost / 90 * 60}
	remaining := math.Round(float64(time.Date(2025, 11, 11, 7, 0, 0, 0, time.UTC).Sub(now)) / float64(time.Minute)) // 169.5 → 170
	wantProj := &Projection{TotalTokens: int64(math.Round(6000 + 6000.0/90*remaining)), TotalCost: math.Round((cost+cost/90*remaining)*100) / 100, RemainingMinutes: 170}
	if d := cmp.Diff(wantRate, active.BurnRate); d != "" {
		t.Errorf("burn rate (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantProj, active.Projection); d != "" {
		t.Errorf("projection (-want +got):\n%s", d)
	}
	// Without now no block is active.
	r = txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{})
	for _, b := range r.Blocks {
		if b.IsActive || b.BurnRate != nil || b.Projection != nil {
			t.Errorf("block %s active without now", b.ID)
		}
	}
	// A block length of 1 hour.
	r = txRead(t, map[string][]string{"p/s.jsonl": lines[:3]}, Options{BlockLength: time.Hour})
	if len(r.Blocks) != 4 { // 08:00, gap, 12:00, 13:00
		t.Errorf("%d blocks with 1-hour blocks, want 4", len(r.Blocks))
	}
}

// TestTranscriptGolden checks the whole report on the fixtures and on a
// small generated tree (update with go test -update).
func TestTranscriptGolden(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	small := fstest.MapFS{}
	txGenerate(txGenParams{Seed: 7, Start: now.Add(-72 * time.Hour).UnixMilli(), Days: 2, Sessions: 3, Turns: 8, Content: 40}, func(name string, data []byte) {
		small["projects/"+name] = &fstest.MapFile{Data: data}
	})
	for _, tt := range []struct {
		name string
		root Root
	}{
		{"fixtures", txFixtures()},
		{"small", Root{Path: "/small", FS: small}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Read(context.Background(), []Root{tt.root}, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join("testdata", "transcripts", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("report differs from %s (-want +got):\n%s", file, d)
			}
		})
	}
}

// TestTranscriptReading checks that the reading does not change the
// report: one or many workers, reads of one byte, lines longer than the
// first buffer.
func TestTranscriptReading(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{}
	txGenerate(txGenParams{Seed: 3, Start: 1_760_000_000_000, Days: 5, Sessions: 12, Turns: 12, Content: 500}, func(name string, data []byte) {
		fsys["projects/"+name] = &fstest.MapFile{Data: data}
	})
	read := func(fsys fs.FS, opts Options) *Report {
		r, err := Read(context.Background(), []Root{{Path: "/r", FS: fsys}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := read(fsys, Options{Workers: 1})
	if want.Stats.Entries == 0 || want.Stats.Duplicates == 0 || want.Stats.Skipped == 0 || want.Stats.Malformed == 0 {
		t.Fatalf("the tree lacks cases: %+v", want.Stats)
	}
	for name, got := range map[string]*Report{
		"4 workers":       read(fsys, Options{Workers: 4}),
		"one-byte reads":  read(txSlowFS{fsys, iotest.OneByteReader}, Options{Workers: 2}),
		"half reads":      read(txSlowFS{fsys, iotest.HalfReader}, Options{}),
		"data with error": read(txSlowFS{fsys, iotest.DataErrReader}, Options{}),
	} {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the report differs (-want +got):\n%s", name, d)
		}
	}
}

// txSlowFS wraps every file's reader.
type txSlowFS struct {
	fs.FS
	wrap func(io.Reader) io.Reader
}

func (f txSlowFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := file.Stat(); err == nil && fi.IsDir() {
		return file, nil
	}
	return txSlowFile{file, f.wrap(file)}, nil
}

type txSlowFile struct {
	fs.File
	r io.Reader
}

func (f txSlowFile) Read(p []byte) (int, error) { return f.r.Read(p) }

// TestTranscriptLongLines checks lines longer than MaxLine: skipped, and
// reported when they hold usage; the lines around them read.
func TestTranscriptLongLines(t *testing.T) {
	t.Parallel()
	short := func(i int) string {
		return txL{ts: "2025-01-01T00:00:00.000Z", msg: fmt.Sprint("m", i), req: "r", out: 1}.String()
	}
	long := txL{ts: "2025-01-01T00:00:00.000Z", msg: "long", req: "r", out: 1000, extra: `,"x":"` + strings.Repeat("y", 5000) + `"`}.String()
	longNoUsage := `{"type":"user","x":"` + strings.Repeat("z", 5000) + `"}`
	for _, maxLine := range []int{600, 1000, 4999, 5100} {
		t.Run(fmt.Sprint(maxLine), func(t *testing.T) {
			t.Parallel()
			lines := []string{short(1), long, short(2), longNoUsage, short(3), long}
			r := txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{MaxLine: maxLine})
			_, blocks, _ := txOutputs(r)
			long := int64(3)
			if maxLine > len(longNoUsage) {
				long = 2
			}
			if blocks != 3 || r.Stats.LongLines != long || r.Stats.Lines != 6 || r.Stats.Skipped != 2 {
				t.Errorf("output %d, stats %+v; want 3 tokens, %d long lines of 6, 2 skipped", blocks, r.Stats, long)
			}
			if len(r.Problems) != 2 || r.Problems[0].Line != 2 || r.Problems[1].Line != 6 || !strings.Contains(r.Problems[0].Problem, "longer than") {
				t.Errorf("problems %v, want lines 2 and 6", r.Problems)
			}
		})
	}
	// Without a final newline, and with the marker split across reads.
	r := txRead(t, map[string][]string{"p/s.jsonl": {short(1), long}}, Options{MaxLine: 2048})
	if r.Stats.LongLines != 1 || r.Stats.Skipped != 1 {
		t.Errorf("stats %+v, want 1 long line skipped", r.Stats)
	}
}

// TestTranscriptProblems checks the problem report: capped, in reading
// order, with files that cannot be read.
func TestTranscriptProblems(t *testing.T) {
	t.Parallel()
	bad := []string{"{cut", "not json", `{"a":1}`, "", "   ", "{\"usage\":{}}"}
	fsys := fstest.MapFS{
		"projects/p/a.jsonl": &fstest.MapFile{Data: []byte(strings.Join(bad, "\n"))},
		"projects/p/b.jsonl": &fstest.MapFile{Data: []byte(strings.Join(bad, "\n"))},
		"projects/p/c.jsonl": &fstest.MapFile{Mode: fs.ModeDir},
		"projects/p/d.txt":   &fstest.MapFile{Data: []byte("{cut")},
		"projects/.jsonl":    &fstest.MapFile{Data: []byte("{cut")},
	}
	r, err := Read(context.Background(), []Root{{Path: "/x", FS: txFailFS{fsys, "projects/p/b.jsonl"}}}, Options{MaxProblems: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Files: 2, Bytes: int64(len(strings.Join(bad, "\n"))), Lines: 4, UsageLines: 1, Skipped: 1, Malformed: 2, Unreadable: 1}
	if d := cmp.Diff(want, r.Stats); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	wantProblems := []Problem{
		{"/x/projects/p/a.jsonl", 1, "not a JSON object"},
		{"/x/projects/p/a.jsonl", 2, "not a JSON object"},
		{"/x/projects/p/a.jsonl", 6, "not a usage entry: a field is missing, null, given twice or of the wrong type"},
	}
	if d := cmp.Diff(wantProblems, r.Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if got := r.Problems[0].String(); got != "/x/projects/p/a.jsonl:1: not a JSON object" {
		t.Errorf("String() = %q", got)
	}
	r, _ = Read(context.Background(), []Root{{Path: "/x", FS: txFailFS{fsys, "projects/p/b.jsonl"}}}, Options{MaxProblems: 10})
	if last := r.Problems[len(r.Problems)-1]; last.File != "/x/projects/p/b.jsonl" || last.Line != 0 || !strings.Contains(last.Problem, "cannot open") {
		t.Errorf("last problem %v, want b.jsonl cannot be opened", last)
	}
	if r, _ = Read(context.Background(), []Root{{Path: "/x", FS: fsys}}, Options{MaxProblems: -1}); len(r.Problems) != 0 {
		t.Errorf("problems %v with MaxProblems -1", r.Problems)
	}
}

// txFailFS fails to open one file.
type txFailFS struct {
	fs.FS
	fail string
}

func (f txFailFS) Open(name string) (fs.File, error) {
	if name == f.fail {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

// TestTranscriptRoots checks the roots: a missing projects directory is
// no tree; several roots read as one, in path order.
func TestTranscriptRoots(t *testing.T) {
	t.Parallel()
	a := fstest.MapFS{"projects/p/s.jsonl": {Data: []byte(txL{ts: "2025-05-02T01:00:00.000Z", msg: "m", req: "r", out: 10}.String())}}
	b := fstest.MapFS{"projects/p/s.jsonl": {Data: []byte(txL{ts: "2025-05-01T01:00:00.000Z", msg: "m", req: "r", out: 10}.String())}}
	r, err := Read(context.Background(), []Root{{Path: "/r2", FS: b}, {Path: "/r1", FS: a}, {Path: "/none", FS: fstest.MapFS{}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blocks) != 1 || txMillis(r.Blocks[0].ActualEndTime) != "2025-05-02T01:00:00.000Z" || r.Stats.Files != 2 {
		t.Errorf("blocks %+v, stats %+v; want /r1's line to win", r.Blocks, r.Stats)
	}
	if r, err := Read(context.Background(), []Root{{Path: "/f", FS: fstest.MapFS{"projects": {Data: []byte("x")}}}}, Options{}); err != nil || r.Stats.Files != 0 {
		t.Errorf("a projects file: %v, %+v", err, r)
	}
	if _, err := Read(context.Background(), nil, Options{Mode: 9}); err == nil {
		t.Error("an unknown mode is not an error")
	}
}

// TestTranscriptCancel checks that a cancelled context stops the reading.
func TestTranscriptCancel(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{}
	txGenerate(txGenParams{Seed: 4, Start: 1_760_000_000_000, Days: 1, Sessions: 8, Turns: 5, Content: 100}, func(name string, data []byte) {
		fsys["projects/"+name] = &fstest.MapFile{Data: data}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, []Root{{Path: "/c", FS: fsys}}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// TestTranscriptSessions checks how files name sessions, as ccusage names
// them.
func TestTranscriptSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rel, id, project string
	}{
		{"-home-dev-alpha/5d80aaa1.jsonl", "5d80aaa1", "-home-dev-alpha"},
		{"-home-dev-alpha/5d80aaa1/subagents/agent-a1.jsonl", "5d80aaa1", "-home-dev-alpha"},
		{"a/b/s/subagents/x.jsonl", "s", "a/b"},
		{"s/subagents/x.jsonl", "subagents", "s"},
		{"pb/deep/er/s3.jsonl", "er", "pb/deep"},
		{"x.jsonl", "x.jsonl", "Unknown Project"},
		{"p/.jsonl", "p", "Unknown Project"},
	}
	for _, tt := range tests {
		id, project := txSessionOf(strings.Split(tt.rel, "/"))
		if id != tt.id || project != tt.project {
			t.Errorf("%s: session %q of %q, want %q of %q", tt.rel, id, project, tt.id, tt.project)
		}
	}
	// Sessions in order of cost, then of first use.
	r := txRead(t, map[string][]string{
		"a/zz.jsonl": {txL{ts: "2025-06-01T01:00:00.000Z", msg: "a1", req: "r", out: 10}.String()},
		"b/aa.jsonl": {txL{ts: "2025-06-02T01:00:00.000Z", msg: "a2", req: "r", out: 10}.String()},
		"c/mm.jsonl": {txL{ts: "2025-05-02T01:00:00.000Z", msg: "a3", req: "r", out: 10}.String()},
		"0/mm.jsonl": {txL{ts: "2025-05-03T01:00:00.000Z", msg: "a4", req: "r", out: 10}.String()},
		"d/zz.jsonl": {txL{ts: "2025-05-03T01:00:00.000Z", msg: "a5", req: "r", out: 20}.String()},
	}, Options{})
	var got []string
	for _, s := range r.Sessions {
		got = append(got, s.ProjectPath+"/"+s.SessionID)
	}
	if d := cmp.Diff([]string{"d/zz", "0/mm", "a/zz", "b/aa", "c/mm"}, got); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestTranscriptHelpers checks the timestamp and version rules directly
// (the null rule: TestTranscriptNullRule).
func TestTranscriptHelpers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in string
		ms int64
		ok bool
	}{
		{"1970-01-01T00:00:00Z", 0, true},
		{"1970-01-01T00:00:00.001Z", 1, true},
		{"1969-12-31T23:59:59.999Z", -1, true},
		{"0000-03-01T00:00:00Z", -62162035200000, true},
		{"2024-02-29T12:00:00+01:30", time.Date(2024, 2, 29, 10, 30, 0, 0, time.UTC).UnixMilli(), true},
		{"2025-11-10T12:50:12.000Z", time.Date(2025, 11, 10, 12, 50, 12, 0, time.UTC).UnixMilli(), true},
		{"2025-13-01T00:00:00Z", 0, false},
		{"2025-00-01T00:00:00Z", 0, false},
		{"2025-01-32T00:00:00Z", 0, false},
		{"2025-01-01T00:60:00Z", 0, false},
		{"2025-01-01T00:00:60Z", 0, false},
		{"2025-01-01T00:00:00.0a0Z", 0, false},
		{"2025-01-01T00:00:00+01-00", 0, false},
		{"2025-01-01T00:00:00+0a:00", 0, false},
		{"", 0, false},
	} {
		ms, ok := txTimestamp([]byte(tt.in))
		if ms != tt.ms || ok != tt.ok {
			t.Errorf("txTimestamp(%q) = %d, %v; want %d, %v", tt.in, ms, ok, tt.ms, tt.ok)
		}
	}
	for in, want := range map[string]bool{"1.2.3": true, "1.2.3x": true, "10.20.3": true, "1.2": false, "1..3": false, ".1.2": false, "1.2.": false, "a.b.c": false, "": false} {
		if got := txSemver([]byte(in)); got != want {
			t.Errorf("txSemver(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]int64{
		`"Claude AI usage limit reached|1762826400"`: 1762826400000, `"Claude AI usage limit reached|x"`: 0,
		`"Claude AI usage limit reached"`: 0, `"limit|5"`: 0,
	} {
		if got, _ := txResetTime([]byte(in)); got != want {
			t.Errorf("txResetTime(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestConfigDirs checks the configuration directories ccusage reads.
func TestConfigDirs(t *testing.T) {
	t.Parallel()
	dirs := map[string]bool{"/c1/projects": true, "/c2/projects": true, "/h/.claude/projects": true, "/x/claude/projects": true, "/h/.config/claude/projects": true}
	stat := func(name string) (fs.FileInfo, error) {
		if dirs[filepath.ToSlash(name)] {
			return fstest.MapFS{"d": {Mode: fs.ModeDir}}.Stat("d")
		}
		return nil, fs.ErrNotExist
	}
	tests := []struct {
		env  map[string]string
		want []string
		err  bool
	}{
		{map[string]string{"CLAUDE_CONFIG_DIR": " /c1 , /none,, /c2,/c1", "HOME": "/h"}, []string{"/c1", "/c2"}, false},
		{map[string]string{"CLAUDE_CONFIG_DIR": "/c1/projects"}, []string{"/c1"}, false},
		{map[string]string{"CLAUDE_CONFIG_DIR": "/c1,/c1/,/c2/./"}, []string{"/c1", "/c2"}, false},
		{map[string]string{"CLAUDE_CONFIG_DIR": "/none", "HOME": "/h"}, nil, true},
		{map[string]string{"HOME": "/h"}, []string{"/h/.config/claude", "/h/.claude"}, false},
		{map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, []string{"/x/claude", "/h/.claude"}, false},
		{map[string]string{"HOME": "/nowhere"}, nil, true},
		{map[string]string{}, nil, true},
	}
	for _, tt := range tests {
		got, err := ConfigDirs(func(k string) string { return tt.env[k] }, stat)
		if (err != nil) != tt.err || !cmp.Equal(tt.want, got) {
			t.Errorf("ConfigDirs(%v) = %v, %v; want %v (error %v)", tt.env, got, err, tt.want, tt.err)
		}
	}
	if got := Roots([]string{"/a"}); len(got) != 1 || got[0].Path != "/a" || got[0].FS != nil {
		t.Errorf("Roots = %+v", got)
	}
	if CostCalculate.String() != "calculate" || CostMode(7).String() != "CostMode(7)" {
		t.Error("CostMode.String")
	}
}

// TestWarmPool checks that a warmed pool starts with the week's and the
// block's spending, and that warming twice counts once.
func TestWarmPool(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return txMillis(now.Add(-d)) }
	lines := []string{
		txL{ts: at(10 * 24 * time.Hour), msg: "msg_old", req: "r", out: 1e6, model: "claude-haiku-4-5-20251001"}.String(),         // before the week
		txL{ts: at(3 * 24 * time.Hour), msg: "msg_week", req: "r", out: 1e6, model: "claude-haiku-4-5-20251001"}.String(),         // $5
		txL{ts: at(30 * time.Minute), msg: "msg_block", req: "r", out: 1, model: "claude-haiku-4-5-20251001"}.String(),            // streamed
		txL{ts: at(29 * time.Minute), msg: "msg_block", req: "r", out: 2e5, model: "claude-haiku-4-5-20251001"}.String(),          // $1
		txL{ts: at(20 * time.Minute), req: "r", out: 2e5, model: "claude-haiku-4-5-20251001"}.String(),                            // no id: $1
		txL{ts: txMillis(now.Add(time.Hour)), msg: "msg_future", req: "r", out: 1e6, model: "claude-haiku-4-5-20251001"}.String(), // ahead: left out
	}
	r := txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{Now: now})
	var ids []string
	for _, e := range r.Recent {
		ids = append(ids, e.ID)
	}
	if len(ids) != 3 || ids[0] != "msg_week" || ids[1] != "msg_block" || !strings.HasPrefix(ids[2], "claude-transcript:") {
		t.Fatalf("recent %v", ids)
	}
	ctx := context.Background()
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100},
	}}, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for round := range 2 {
		w, err := WarmPool(ctx, p, "max-a", r, now)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 && (w.Charged != 3 || !txNear(w.CostUSD, 7)) {
			t.Errorf("warmed %+v, want 3 entries, $7", w)
		}
		snap, err := p.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s := snap.Subscriptions[0]
		if !txNear(s.Week.CostUSD, 7) || !txNear(s.Block.CostUSD, 2) {
			t.Errorf("round %d: week $%v, block $%v; want $7 and $2", round, s.Week.CostUSD, s.Block.CostUSD)
		}
	}
	if _, err := WarmPool(ctx, p, "nobody", r, now); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("warming an unknown subscription: %v", err)
	}
}

// TestWarmPoolTwiceInASmallMemoryCountsOnce warms a pool whose memory of
// usage IDs holds fewer than the week's entries, twice: the second warming
// counts nothing, each entry being remembered or too old to tell apart.
func TestWarmPoolTwiceInASmallMemoryCountsOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const n = 20_000 // more than 1 MiB remembers
	r := &Report{Recent: make([]Entry, n)}
	for i := range r.Recent {
		r.Recent[i] = Entry{ID: fmt.Sprintf("msg_%05d", i), Time: now.Add(time.Duration(i-n) * time.Second), CostUSD: 0.001,
			Counts: claude.Counts{Output: 10}}
	}
	ctx := context.Background()
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100},
	}, UsageIDMemoryMiB: 1}, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	week := func() float64 {
		snap, err := p.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Subscriptions[0].Week.CostUSD
	}
	w, err := WarmPool(ctx, p, "max-a", r, now)
	if err != nil || w.Charged != n || w.TooOld != 0 {
		t.Fatalf("first warming = %+v, %v; want %d charged", w, err, n)
	}
	first := week()
	w, err = WarmPool(ctx, p, "max-a", r, now)
	// Charged counts the remembered entries too: Charge answers nil for a
	// duplicate, which counts nothing.
	if err != nil || w.TooOld == 0 || w.Charged != n-w.TooOld || w.Refused != 0 {
		t.Fatalf("second warming = %+v, %v; want some too old, the rest duplicates", w, err)
	}
	if got := week(); !txNear(got, first) || !txNear(got, n*0.001) {
		t.Errorf("week after warming twice $%v, after once $%v; want $%v", got, first, n*0.001)
	}
	if st := p.Stats(); st.TooOldRecords != int64(w.TooOld) || st.DuplicateRecords != int64(n-w.TooOld) {
		t.Errorf("Stats %d too old, %d duplicates; want %d and %d", st.TooOldRecords, st.DuplicateRecords, w.TooOld, n-w.TooOld)
	}
}

// TestTranscriptMarshal checks the JSON of a gap block and of a session.
func TestTranscriptMarshal(t *testing.T) {
	t.Parallel()
	gap := UsageBlock{ID: "gap-x", StartTime: time.UnixMilli(1), EndTime: time.UnixMilli(2), IsGap: true, Models: []string{}}
	got, err := json.Marshal(gap)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"gap-x","isActive":false,"isGap":true,"entries":0,"tokenCounts":{"inputTokens":0,"outputTokens":0,"cacheCreationInputTokens":0,"cacheReadInputTokens":0},"totalTokens":0,"costUSD":0,"models":[],"burnRate":null,"projection":null,"startTime":"1970-01-01T00:00:00.001Z","endTime":"1970-01-01T00:00:00.002Z","actualEndTime":null}`
	if string(got) != want {
		t.Errorf("gap block:\n%s\nwant\n%s", got, want)
	}
	if !bytes.Contains(must(json.Marshal(UsageSession{FirstActivity: time.UnixMilli(5)})), []byte(`"firstActivity":"1970-01-01T00:00:00.005Z"`)) {
		t.Error("session times")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
