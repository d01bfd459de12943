package transcript

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestBadInput is package transcript's row of the table of
// docs/bad-input.md: garbage transcript lines are counted and listed,
// never read as usage.
func TestBadInput(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/bad-input.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n| garbage transcript lines | ") {
		t.Error("docs/bad-input.md has no row \"garbage transcript lines\"")
	}
	good := `{"sessionId":"s1","version":"2.0.31","message":{"id":"m1","model":"claude-sonnet-4-5-20250929",` +
		`"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}},` +
		`"type":"assistant","timestamp":"2025-06-01T01:00:30.000Z","requestId":"r1"}`
	lines := []string{
		"not json",
		`{"message":{"usage":{"input_tokens":`, // a write cut short
		"\x00\x01\xff",
		"[1,2]",
		good,
		`{"message":{"usage":{"input_tokens":-5,"output_tokens":"x"}},"timestamp":"2025-06-01T01:00:30.000Z"}`,
	}
	root := Root{Path: "/cfg", FS: fstest.MapFS{
		"projects/p/s.jsonl": {Data: []byte(strings.Join(lines, "\n") + "\n")},
	}}
	rep, err := Read(t.Context(), []Root{root}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantStats := Stats{
		Files: 1, Bytes: 435, Lines: 6, UsageLines: 3, Entries: 1, DailyEntries: 1, Skipped: 2, Malformed: 3,
	}
	if diff := cmp.Diff(wantStats, rep.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	var problems []string
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	wantProblems := []string{
		"/cfg/projects/p/s.jsonl:1: not a JSON object",
		"/cfg/projects/p/s.jsonl:2: not JSON: bad value at byte 36",
		"/cfg/projects/p/s.jsonl:3: not a JSON object",
		"/cfg/projects/p/s.jsonl:4: not a JSON object",
		"/cfg/projects/p/s.jsonl:6: not a usage entry: a field is missing, null, given twice or of the wrong type",
	}
	if diff := cmp.Diff(wantProblems, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// The good line alone is counted.
	if len(rep.Sessions) != 1 || rep.SessionTotals.TotalTokens != 15 || rep.DayTotals.TotalTokens != 15 {
		t.Errorf("sessions %+v, totals %+v / %+v; want the good line's 15 tokens only", rep.Sessions, rep.SessionTotals, rep.DayTotals)
	}
}
