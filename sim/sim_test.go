package sim_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/authpool/authpool/claude/transcript"
	"github.com/authpool/authpool/sim"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// small is a day of 8 agents: the standard workload's shape, scaled down so
// a run takes milliseconds.
func small() sim.Synthetic {
	s := sim.Standard()
	s.Name = "small"
	s.Length = 24 * time.Hour
	s.Agents = 8
	s.PeakSessionsPerHour = 8
	s.CostMedianUSD = 0.1 // about $700 a day: more than two subscriptions' blocks
	return s
}

// smallSweep runs small() through 1 and 2 subscriptions under two pool
// policies and two peers' (one of them random).
func smallSweep(t *testing.T, seed uint64, parallel int) []sim.Result {
	t.Helper()
	w, err := small().Generate(seed)
	if err != nil {
		t.Fatal(err)
	}
	results, err := sim.Sweep{
		Scenario: sim.Scenario{Workload: w, FallbackDailyUSD: 5, LimitNoise: 0.1, Seed: seed},
		Sizes:    []int{1, 2},
		Policies: []sim.Policy{sim.Policies()[0], sim.Policies()[1], sim.Peers()[0], sim.Peers()[2]},
		Parallel: parallel,
	}.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return results
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, b := smallSweep(t, 7, 1), smallSweep(t, 7, 2)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different results (-first +second):\n%s", diff)
	}
	c := smallSweep(t, 8, 1)
	if cmp.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same results: the seed is not used")
	}
	var ja, jb bytes.Buffer
	if err := errors.Join(sim.WriteJSON(&ja, a), sim.WriteJSON(&jb, smallSweep(t, 7, 2))); err != nil {
		t.Fatal(err)
	}
	if ja.String() != jb.String() || strings.Count(ja.String(), "\n") != len(a) {
		t.Errorf("same seed, different JSON, or not a line a run:\n%s\n%s", ja.String(), jb.String())
	}
	w1, _ := small().Generate(3)
	w2, _ := small().Generate(3)
	if diff := cmp.Diff(w1, w2); diff != "" {
		t.Errorf("same seed, different workloads:\n%s", diff)
	}
}

// TestGoldenTable checks the table of a small fixed sweep, and that every
// run served or refused each request exactly once.
func TestGoldenTable(t *testing.T) {
	t.Parallel()
	results := smallSweep(t, 1, 2)
	for _, r := range results {
		if r.Served+r.Client429s != r.Requests || r.SubscriptionRequests+r.FallbackRequests != r.Served ||
			r.Failovers > r.Requests || r.BrokenCaches > r.WarmRequests || r.WarmRequests > r.Served {
			t.Errorf("%s/%d: inconsistent counts %+v", r.Policy, r.Subscriptions, r)
		}
	}
	var b bytes.Buffer
	if err := sim.WriteTable(&b, results, sim.DefaultTargets()); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestSVGWellFormed(t *testing.T) {
	t.Parallel()
	results := smallSweep(t, 1, 2)
	var b bytes.Buffer
	if err := sim.WriteSVG(&b, `small <day> & "night"`, results, sim.DefaultTargets()); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	counts := make(map[string]int)
	var root string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Space + " " + se.Name.Local
			}
			counts[se.Name.Local]++
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q, want svg in the SVG namespace", root)
	}
	// Six panels, a line per policy in each, a point per result.
	if counts["polyline"] != 6*4 || counts["circle"] != 6*len(results) {
		t.Errorf("%d polylines and %d circles, want %d and %d", counts["polyline"], counts["circle"], 24, 6*len(results))
	}
}

// transcriptLine is an assistant line of a Claude Code transcript, without
// cache reads or writes.
func transcriptLine(session, id, ts string, cost string) string {
	return usageLine(session, id, ts, cost, `"cache_creation_input_tokens":0,"cache_read_input_tokens":0`)
}

// usageLine is an assistant line of a Claude Code transcript whose usage
// has these cache fields.
func usageLine(session, id, ts, cost, cache string) string {
	return `{"sessionId":"` + session + `","version":"2.0.31","costUSD":` + cost + `,"message":{"id":"` + id +
		`","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,` + cache +
		`,"output_tokens":5}},"type":"assistant","timestamp":"` + ts + `","requestId":"r` + id + `"}`
}

func TestReadTrace(t *testing.T) {
	t.Parallel()
	// m3 read 4,000 tokens from the cache and wrote 500 to a 1-hour one:
	// a context of 4,500, and the workload's caches live an hour.
	const m3Cache = `"cache_creation_input_tokens":500,"cache_read_input_tokens":4000,` +
		`"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":500}`
	root := transcript.Root{Path: "/cfg", FS: fstest.MapFS{
		"projects/p/one.jsonl": {Data: []byte(strings.Join([]string{
			transcriptLine("one", "m1", "2026-11-20T10:15:00.000Z", "0.5"), // more than a week before the last: left out
			transcriptLine("one", "m2", "2026-11-26T10:15:00.000Z", "0.25"),
			usageLine("one", "m3", "2026-11-26T10:20:00.000Z", "1.5", m3Cache),
			usageLine("one", "m3", "2026-11-26T10:20:00.000Z", "1.5", m3Cache), // a duplicate: counted once
		}, "\n") + "\n")},
		"projects/p/two.jsonl": {Data: []byte(transcriptLine("two", "m4", "2026-11-27T11:30:00.000Z", "2") + "\n")},
	}}
	w, err := sim.ReadTrace(t.Context(), "fixture", root)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const model = "claude-sonnet-4-5-20250929"
	want := &sim.Workload{
		Name: "fixture", Start: ts("2026-11-26T10:00:00Z"), Length: 26 * time.Hour, // to the hour after the last request
		Sessions: []sim.Session{{
			Client: "one", Start: ts("2026-11-26T10:15:00Z"), End: ts("2026-11-26T10:21:00Z"),
			Requests: []sim.Request{{Time: ts("2026-11-26T10:15:00Z"), CostUSD: 0.25, Model: model},
				{Time: ts("2026-11-26T10:20:00Z"), CostUSD: 1.5, ContextTokens: 4500, Model: model}},
		}, {
			Client: "two", Start: ts("2026-11-27T11:30:00Z"), End: ts("2026-11-27T11:31:00Z"),
			Requests: []sim.Request{{Time: ts("2026-11-27T11:30:00Z"), CostUSD: 2, Model: model}},
		}},
		Model: sim.DefaultModel, CacheTTL: time.Hour,
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("workload (-want +got):\n%s", diff)
	}

	_, err = sim.ReadTrace(t.Context(), "empty", transcript.Root{Path: "/e", FS: fstest.MapFS{
		"projects/p/x.jsonl": {Data: []byte("not json\n")},
	}})
	if !errors.Is(err, sim.ErrEmptyTrace) {
		t.Errorf("transcripts without usage: %v, want ErrEmptyTrace", err)
	}
}

// TestTraceFixtures replays the claude package's transcript fixtures
// through a pool: every request is served, on the one subscription.
func TestTraceFixtures(t *testing.T) {
	t.Parallel()
	w, err := sim.ReadTrace(t.Context(), "fixtures", transcript.Roots([]string{"../claude/transcript/testdata/transcripts"})...)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Sessions) == 0 || w.Requests() == 0 {
		t.Fatalf("%d sessions, %d requests: want some", len(w.Sessions), w.Requests())
	}
	r, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Subscriptions: 1, Policy: sim.Policy{Name: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != w.Requests() || r.Served != r.Requests || !approx(r.SubscriptionCostUSD[0], w.CostUSD()) {
		t.Errorf("served %d of %d requests for $%v; want all %d for $%v", r.Served, r.Requests, r.SubscriptionCostUSD,
			w.Requests(), w.CostUSD())
	}
}

func approx(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
