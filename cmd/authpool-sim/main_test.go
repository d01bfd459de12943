package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunTrace(t *testing.T) {
	t.Parallel()
	svg := filepath.Join(t.TempDir(), "out.svg")
	var out bytes.Buffer
	err := run(t.Context(), []string{"-trace", "../../claude/transcript/testdata/transcripts", "-sizes", "1-2",
		"-policies", "default,eager,lru-sticky", "-svg", svg}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload ../../claude/transcript/testdata/transcripts, seed 1:", "default: 1 subscriptions meet every target",
		"eager: 1 subscriptions meet every target", "lru-sticky: 1 subscriptions meet every target", "best: default with 1 subscriptions ($0.00 on the fallback, mean over 1 seeds)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg ")) {
		t.Errorf("the chart: %v, %.40q", err, b)
	}
}

// TestJSON runs a day of a small standard workload with -json: a line per
// run (policy × size × seed), in that order, each a JSON object with the
// figures users plot.
func TestJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-json", "-agents", "4", "-sizes", "1-2", "-seeds", "1-2",
		"-policies", "default,lru-sticky,weighted-random", "-svg", filepath.Join(t.TempDir(), "out.svg")}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var got []string
	for i, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v: %q", i+1, err, line)
		}
		for _, key := range []string{"policy", "subscriptions", "seed", "success", "fallbackUSD", "client429s",
			"cacheContinuity", "unusedPrepaidUSD", "gapReduction", "brokenCacheUSD", "subscriptionRequests", "fallbackRequests"} {
			if _, ok := r[key]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, key, line)
			}
		}
		got = append(got, fmt.Sprintf("%v/%v/%v", r["seed"], r["policy"], r["subscriptions"]))
	}
	var want []string
	for _, seed := range []int{1, 2} {
		for _, p := range []string{"default", "lru-sticky", "weighted-random"} {
			for _, n := range []int{1, 2} {
				want = append(want, fmt.Sprintf("%d/%s/%d", seed, p, n))
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs, seed/policy/size (-want +got):\n%s", diff)
	}
	// The same command again: the same lines.
	var again bytes.Buffer
	if err := run(t.Context(), []string{"-json", "-agents", "4", "-sizes", "1-2", "-seeds", "1-2",
		"-policies", "default,lru-sticky,weighted-random"}, &again, &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("two runs of the same command differ:\n%s\n%s", out.String(), again.String())
	}
}

// TestSeedsTable runs two seeds into the table: a row per policy and size,
// the means of two seeds.
func TestSeedsTable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-agents", "4", "-sizes", "2", "-seeds", "3,5", "-policies", "fill-first"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload standard, seed 3:", "workload standard, seed 5:", "fill-first     2      2  "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseSeeds(t *testing.T) {
	t.Parallel()
	got, err := parseSeeds("7,1-3,2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{1, 2, 3, 7}, got); diff != "" {
		t.Errorf("seeds (-want +got):\n%s", diff)
	}
}

func TestParseSizes(t *testing.T) {
	t.Parallel()
	got, err := parseSizes("5-7,2,6")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 5, 6, 7}, got); diff != "" {
		t.Errorf("sizes (-want +got):\n%s", diff)
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-sizes", "0"}, `-sizes: "0": want numbers from 1 to 1000`},
		{[]string{"-sizes", "8-3"}, `-sizes: "8-3"`},
		{[]string{"-policies", "nope"}, `-policies: unknown policy "nope" (known: default,`},
		{[]string{"-policies", "nope"}, `round-robin,lru-sticky,weighted-random,fill-first)`},
		{[]string{"-seeds", "5-1"}, `-seeds: "5-1": want numbers up to`},
		{[]string{"-seeds", "1-5000"}, `-seeds: "1-5000": want at most 1000 seeds`},
		{[]string{"-seeds", "x"}, `-seeds: "x"`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-trace", t.TempDir()}, "no usage"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(t.Context(), tt.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one saying %q", tt.args, err, tt.want)
		}
	}
}
