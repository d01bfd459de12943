package transcript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude"
)

// Agreement with ccusage 20.0.24: testdata/ccusage/<case>/ holds a case
// (case.json: which tree, the time ccusage ran at) and what
// `ccusage claude blocks|daily|session --json --offline -z UTC` printed for
// it, written by testdata/ccusage/compare.sh. The tests here read the same
// tree and compare, so they need neither ccusage nor node.

// txCase is a case of testdata/ccusage.
type txCase struct {
	// Tree is "fixtures" (testdata/transcripts), "generated" (Gen),
	// "badlines" (txBadLines), or a directory (a tree compare.sh was
	// given).
	Tree string       `json:"tree"`
	Gen  *txGenParams `json:"gen,omitempty"`
	// Now is when ccusage ran (written by compare.sh beside case.json).
	Now time.Time `json:"-"`
}

// txCases are the cases compare.sh has ccusage run on. now is the time the
// generated active case ends at.
func txCases(now time.Time) map[string]txCase {
	start := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	day := int64(86_400_000)
	nowMs := now.UnixMilli()
	return map[string]txCase{
		"fixtures":  {Tree: "fixtures"},
		"badlines":  {Tree: "badlines"},
		"generated": {Tree: "generated", Gen: &txGenParams{Seed: 1, Start: start, Days: 30, Sessions: 80, Turns: 30, Content: 300}},
		"dense":     {Tree: "generated", Gen: &txGenParams{Seed: 5, Start: start, Days: 4, Sessions: 40, Turns: 40, Content: 40}},
		"active": {Tree: "generated", Gen: &txGenParams{Seed: 2, Start: (nowMs/day - 6) * day, Days: 6, Sessions: 14, Turns: 30,
			Content: 200, End: nowMs}},
	}
}

// txTree returns the case's tree.
func (c txCase) tree(t testing.TB) Root {
	switch c.Tree {
	case "fixtures":
		return Root{Path: "testdata/transcripts"}
	case "generated", "badlines":
		fsys := fstest.MapFS{}
		c.generate(func(name string, data []byte) {
			fsys["projects/"+name] = &fstest.MapFile{Data: data, Mode: 0o644}
		})
		return Root{Path: "/" + c.Tree, FS: fsys}
	}
	return Root{Path: c.Tree}
}

// generate writes a generated case's files (their paths under projects/).
func (c txCase) generate(write func(name string, data []byte)) {
	if c.Tree == "badlines" {
		txBadLines(write)
	} else {
		txGenerate(*c.Gen, write)
	}
}

// TestTranscriptWriteTrees writes the cases' trees for compare.sh:
// AUTHPOOL_TX_WRITE=dir, AUTHPOOL_TX_NOW=<Unix ms the active case ends at>.
func TestTranscriptWriteTrees(t *testing.T) {
	dir := os.Getenv("AUTHPOOL_TX_WRITE")
	if dir == "" {
		t.Skip("set AUTHPOOL_TX_WRITE=dir (testdata/ccusage/compare.sh does)")
	}
	var nowMs int64
	if _, err := fmt.Sscan(os.Getenv("AUTHPOOL_TX_NOW"), &nowMs); err != nil {
		t.Fatalf("AUTHPOOL_TX_NOW: %v", err)
	}
	for name, c := range txCases(time.UnixMilli(nowMs)) {
		root := filepath.Join(dir, "trees", name)
		switch c.Tree {
		case "fixtures":
			if err := os.CopyFS(root, os.DirFS("testdata/transcripts")); err != nil {
				t.Fatal(err)
			}
		case "generated", "badlines":
			c.generate(func(rel string, data []byte) {
				p := filepath.Join(root, "projects", rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			})
		}
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out", name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "case.json"), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// txReports are ccusage's outputs, by file name, and how to get ours. Of
// weekly.json and monthly.json only the totals are compared (we have no
// weekly or monthly rows; ccusage reads them with the entry reader, as the
// sessions), and only where they were recorded.
var txReports = []struct {
	file string
	mode CostMode
	ours func(r *Report) any
}{
	{"blocks.json", CostAuto, func(r *Report) any { return map[string]any{"blocks": r.Blocks} }},
	{"blocks-calculate.json", CostCalculate, func(r *Report) any { return map[string]any{"blocks": r.Blocks} }},
	{"daily.json", CostAuto, func(r *Report) any { return map[string]any{"daily": r.Days, "totals": r.DayTotals} }},
	{"daily-calculate.json", CostCalculate, func(r *Report) any { return map[string]any{"daily": r.Days, "totals": r.DayTotals} }},
	{"daily-display.json", CostDisplay, func(r *Report) any { return map[string]any{"daily": r.Days, "totals": r.DayTotals} }},
	{"session.json", CostAuto, func(r *Report) any {
		return map[string]any{"sessions": r.Sessions, "totals": r.SessionTotals}
	}},
	{"weekly.json", CostAuto, func(r *Report) any { return map[string]any{"totals": r.SessionTotals} }},
	{"monthly.json", CostAuto, func(r *Report) any { return map[string]any{"totals": r.SessionTotals} }},
}

// txTotalsOnly says which of ccusage's outputs are compared by their
// totals only.
var txTotalsOnly = map[string]bool{"weekly.json": true, "monthly.json": true}

// TestTranscriptAgreement compares our reports with ccusage's on each case
// of testdata/ccusage (or of $AUTHPOOL_TX_CCUSAGE, where compare.sh puts a
// fresh run): every number equal, costs to 1e-9 relative.
func TestTranscriptAgreement(t *testing.T) {
	t.Parallel()
	dir := os.Getenv("AUTHPOOL_TX_CCUSAGE")
	if dir == "" {
		dir = filepath.Join("testdata", "ccusage")
	}
	cases, err := filepath.Glob(filepath.Join(dir, "*", "case.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in %s (%v)", dir, err)
	}
	for _, file := range cases {
		caseDir := filepath.Dir(file)
		t.Run(filepath.Base(caseDir), func(t *testing.T) {
			t.Parallel()
			c := txLoadCase(t, caseDir)
			root := c.tree(t)
			reports := make(map[CostMode]*Report)
			for _, rep := range txReports {
				want, err := os.ReadFile(filepath.Join(caseDir, rep.file))
				if txTotalsOnly[rep.file] && errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", rep.file, err)
					continue
				}
				if txTotalsOnly[rep.file] {
					if want, err = txTotalsOf(want); err != nil {
						t.Fatalf("%s: %v", rep.file, err)
					}
				}
				r := reports[rep.mode]
				if r == nil {
					if r, err = Read(context.Background(), []Root{root}, Options{Mode: rep.mode, Now: c.Now, Prices: claude.CcusagePrices()}); err != nil {
						t.Fatal(err)
					}
					reports[rep.mode] = r
				}
				got, err := json.MarshalIndent(rep.ours(r), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if os.Getenv("AUTHPOOL_TX_DUMP") != "" {
					if err := os.WriteFile(filepath.Join(caseDir, "ours-"+rep.file), got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if d := txJSONDiff(want, got); d != "" {
					t.Errorf("%s: ccusage (-) and ours (+) differ:\n%s", rep.file, d)
				}
			}
		})
	}
}

// txTotalsOf returns {"totals": ...} of a ccusage report.
func txTotalsOf(report []byte) ([]byte, error) {
	var r struct {
		Totals json.RawMessage `json:"totals"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		return nil, err
	}
	if r.Totals == nil {
		return nil, errors.New("no totals")
	}
	return json.Marshal(map[string]json.RawMessage{"totals": r.Totals})
}

func txLoadCase(t testing.TB, dir string) txCase {
	var c txCase
	data, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s/case.json: %v", dir, err)
	}
	if now, err := os.ReadFile(filepath.Join(dir, "now")); err == nil {
		if c.Now, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(now))); err != nil {
			t.Fatalf("%s/now: %v", dir, err)
		}
	}
	return c
}

// txJSONDiff compares two JSON documents, numbers to 1e-9 relative; it
// returns "" when they agree.
func txJSONDiff(want, got []byte) string {
	var w, g any
	dw, dg := json.NewDecoder(bytes.NewReader(want)), json.NewDecoder(bytes.NewReader(got))
	if err := dw.Decode(&w); err != nil {
		return "ccusage's output: " + err.Error()
	}
	if err := dg.Decode(&g); err != nil {
		return "ours: " + err.Error()
	}
	d := cmp.Diff(w, g, cmp.Comparer(func(a, b float64) bool {
		return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
	}))
	if len(d) > 6000 {
		d = d[:6000] + "\n…"
	}
	return d
}

// txFS returns the fixtures as a root.
func txFixtures() Root {
	return Root{Path: "testdata/transcripts", FS: os.DirFS("testdata/transcripts")}
}

var _ fs.FS = fstest.MapFS{}
