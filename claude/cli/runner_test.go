package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/cli"
)

// The runner's tests run the fake claude of testdata/fakeclaude, built once
// by TestRunner into its temporary directory, against the captured CLI
// outputs of testdata/cli.

// runnerNow is the pool's clock: a second after the captured quota run
// ended (its stream's timestamp is 11:31:29.986Z; it reads "resets 12:31pm
// (UTC)", and its rate_limit_event resets at 12:31:29).
var runnerNow = time.Date(2026, 11, 26, 11, 31, 30, 0, time.UTC)

// The credentials of the test pools.
const (
	runnerCredA   = "sk-ant-oat01-runner-test-a-0123456789abcdef"
	runnerCredB   = "sk-ant-oat01-runner-test-b-0123456789abcdef"
	runnerCredC   = "sk-ant-oat01-runner-test-c-0123456789abcdef"
	runnerKeyC    = "sk-ant-api03-runner-test-c-0123456789abcdef"
	runnerKeyFall = "sk-ant-api03-runner-test-fallback-0123456789"
)

// runnerDecoys are credential variables of the base environment: none may
// reach the CLI.
var runnerDecoys = map[string]string{
	"ANTHROPIC_API_KEY":               "sk-ant-api03-decoy-inherited-key-000000",
	"ANTHROPIC_AUTH_TOKEN":            "decoy-inherited-auth-token-000000",
	"CLAUDE_CODE_OAUTH_TOKEN":         "sk-ant-oat01-decoy-inherited-token-000000",
	"CLAUDE_CODE_OAUTH_REFRESH_TOKEN": "sk-ant-ort01-decoy-inherited-refresh-000",
	"ANTHROPIC_FOUNDRY_API_KEY":       "decoy-inherited-foundry-key-000000",
	"ANTHROPIC_CUSTOM_HEADERS":        "Authorization: Bearer decoy-inherited-header-000",
	"anthropic_api_key":               "sk-ant-api03-decoy-lowercase-key-000000",
	"CLAUDE_CODE_USE_BEDROCK":         "1",
}

// runnerKept are variables of the base environment that must reach the CLI
// unchanged.
var runnerKept = map[string]string{
	"ANTHROPIC_BASE_URL":                       "http://127.0.0.1:9",
	"ANTHROPIC_MODEL":                          "claude-sonnet-5-5",
	"CLAUDE_CODE_MAX_OUTPUT_TOKENS":            "4096",
	"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}

// runnerSecrets are what no log line, error or result may show.
var runnerSecrets = func() []string {
	s := []string{runnerCredA, runnerCredB, runnerCredC, runnerKeyC, runnerKeyFall}
	for _, v := range runnerDecoys {
		if len(v) > 8 {
			s = append(s, v)
		}
	}
	return s
}()

// fakeHash is how the fake claude names a value (its Hash).
func fakeHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// fakeReport is a line of the fake's FAKECLAUDE_REPORT.
type fakeReport struct {
	PID    int               `json:"pid"`
	Mode   string            `json:"mode"`
	Flags  []string          `json:"flags"`
	Prompt string            `json:"prompt"`
	Names  []string          `json:"names"`
	Claude map[string]string `json:"claude"`
}

// buildFakeClaude builds testdata/fakeclaude into dir, with the fixtures'
// directory compiled in, and returns its path.
func buildFakeClaude(t testing.TB, dir string) string {
	t.Helper()
	fixtures, err := filepath.Abs(filepath.Join("testdata", "cli"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "claude")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags=-X 'main.fixtureDir="+fixtures+"'", "./testdata/fakeclaude")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fake claude: %v\n%s", err, out)
	}
	return bin
}

// runnerSetup is a pool, a Runner on the fake claude, its report file and
// its log.
type runnerSetup struct {
	pool   *authpool.Pool
	runner *cli.Runner
	report string
	logs   *bytes.Buffer
}

// newRunnerSetup returns a pool of subs (and a fallback, if fallback) on the
// clock runnerNow, and a Runner on the fake claude at bin whose base
// environment holds the decoys, the kept variables, the fake's report file
// and env.
func newRunnerSetup(t *testing.T, bin string, subs []authpool.Subscription, fallback bool, env ...string) *runnerSetup {
	t.Helper()
	cfg := authpool.Config{Subscriptions: subs}
	if fallback {
		cfg.Fallback = &authpool.Fallback{Credential: runnerKeyFall, DailyBudgetUSD: 10}
	}
	clock := func() time.Time { return runnerNow }
	p, err := authpool.New(context.Background(), cfg, authpool.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	s := &runnerSetup{pool: p, report: filepath.Join(t.TempDir(), "report.jsonl"), logs: new(bytes.Buffer)}
	base := append([]string{"FAKECLAUDE_REPORT=" + s.report}, env...)
	for k, v := range runnerDecoys {
		base = append(base, k+"="+v)
	}
	for k, v := range runnerKept {
		base = append(base, k+"="+v)
	}
	s.runner = &cli.Runner{Pool: p, Command: bin, Env: base, Clock: clock,
		Logger: slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return s
}

// reports returns what the fake reported, a line a run.
func (s *runnerSetup) reports(t *testing.T) []fakeReport {
	t.Helper()
	data, err := os.ReadFile(s.report)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []fakeReport
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r fakeReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("report %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// status returns a subscription's state and limit.
func (s *runnerSetup) status(t *testing.T, id string) authpool.Status {
	t.Helper()
	subs, err := s.pool.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range subs {
		if sub.ID == id {
			return authpool.Status{State: sub.Status.State, Until: sub.Status.Until}
		}
	}
	t.Fatalf("no subscription %q", id)
	return authpool.Status{}
}

// modes makes the fake answer with mode on the given credentials.
func modes(credMode ...string) string {
	var parts []string
	for i := 0; i < len(credMode); i += 2 {
		parts = append(parts, fakeHash(credMode[i])+"="+credMode[i+1])
	}
	return "FAKECLAUDE_MODES=" + strings.Join(parts, ",")
}

// twoSubs are two subscriptions: sub-a first (ties go to the lower ID).
var twoSubs = []authpool.Subscription{
	{ID: "sub-a", Kind: authpool.KindPro, Credential: runnerCredA},
	{ID: "sub-b", Kind: authpool.KindMax5x, Credential: runnerCredB},
}

// threeSubs are twoSubs and sub-c, a subscription too (its token goes in
// CLAUDE_CODE_OAUTH_TOKEN).
var threeSubs = append(slices.Clone(twoSubs), authpool.Subscription{ID: "sub-c", Kind: authpool.KindMax5x, Credential: runnerCredC})

// The captured successful run: its tokens and Claude Code's cost.
var (
	okTokens = authpool.Tokens{Input: 12, Output: 7, CacheWrite: 100, CacheRead: 200}
	okCost   = 0.000364
)

func TestRunner(t *testing.T) {
	bin := buildFakeClaude(t, t.TempDir())
	t.Run("Records", func(t *testing.T) { t.Parallel(); testRunnerRecords(t, bin) })
	t.Run("Credential", func(t *testing.T) { t.Parallel(); testRunnerCredential(t, bin) })
	t.Run("Limits", func(t *testing.T) { t.Parallel(); testRunnerLimits(t, bin) })
	t.Run("Failures", func(t *testing.T) { t.Parallel(); testRunnerFailures(t, bin) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testRunnerCancel(t, bin) })
	t.Run("Arguments", func(t *testing.T) { t.Parallel(); testRunnerArguments(t, bin) })
	t.Run("NothingSecretShown", func(t *testing.T) { t.Parallel(); testRunnerNothingSecretShown(t, bin) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testRunnerConcurrent(t, bin) })
	t.Run("Holds", func(t *testing.T) { t.Parallel(); testRunnerHolds(t, bin) })
}

// A run records Claude Code's usage and cost on the subscription it ran on,
// with the stream's as with the json result.
func testRunnerRecords(t *testing.T, bin string) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			t.Parallel()
			s := newRunnerSetup(t, bin, twoSubs, false)
			s.runner.Stream = stream
			res, err := s.runner.Run(context.Background(), "alice", "ok: say hello")
			if err != nil {
				t.Fatal(err)
			}
			if res.Retried || len(res.Attempts) != 1 || res.Allocation.SubscriptionID != "sub-a" ||
				res.Verdict.Kind != claude.VerdictOK || res.Result.Text != "Hello from fake upstream." {
				t.Errorf("Run = %+v", res)
			}
			if res.CostUSD() != okCost {
				t.Errorf("CostUSD = %v, want %v", res.CostUSD(), okCost)
			}
			snap, err := s.pool.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			type use struct {
				Sub    string
				Cost   float64
				Tokens authpool.Tokens
				Reqs   int64
			}
			var got []use
			for _, sub := range snap.Subscriptions {
				got = append(got, use{Sub: sub.ID, Cost: sub.Block.CostUSD})
			}
			for _, sess := range snap.Sessions {
				got = append(got, use{Sub: sess.ClientID + "@" + sess.SubscriptionID, Cost: sess.CostUSD, Tokens: sess.Tokens, Reqs: sess.Requests})
			}
			want := []use{{Sub: "sub-a", Cost: okCost}, {Sub: "sub-b"}, {Sub: "alice@sub-a", Cost: okCost, Tokens: okTokens, Reqs: 1}}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("the pool's use (-want +got):\n%s", diff)
			}
		})
	}
}

// The credential reaches the CLI in the variable of its kind, and no other
// credential variable of the base environment does; the rest pass.
func testRunnerCredential(t *testing.T, bin string) {
	for _, tc := range []struct {
		name     string
		subs     []authpool.Subscription
		fallback bool
		wantVar  string
		wantCred string
	}{
		{"pro", []authpool.Subscription{{ID: "p", Kind: authpool.KindPro, Credential: runnerCredA}}, false, "CLAUDE_CODE_OAUTH_TOKEN", runnerCredA},
		{"max5x", []authpool.Subscription{{ID: "m", Kind: authpool.KindMax5x, Credential: runnerCredB}}, false, "CLAUDE_CODE_OAUTH_TOKEN", runnerCredB},
		{"max20x", []authpool.Subscription{{ID: "m", Kind: authpool.KindMax20x, Credential: runnerCredB}}, false, "CLAUDE_CODE_OAUTH_TOKEN", runnerCredB},
		{"api", []authpool.Subscription{{ID: "k", Kind: authpool.KindAPI, Credential: runnerKeyC}}, false, "ANTHROPIC_API_KEY", runnerKeyC},
		{"fallback", nil, true, "ANTHROPIC_API_KEY", runnerKeyFall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newRunnerSetup(t, bin, tc.subs, tc.fallback)
			if _, err := s.runner.Run(context.Background(), "alice", "ok"); err != nil {
				t.Fatal(err)
			}
			reps := s.reports(t)
			if len(reps) != 1 {
				t.Fatalf("%d runs, want 1", len(reps))
			}
			want := map[string]string{tc.wantVar: fakeHash(tc.wantCred)}
			for k, v := range runnerKept {
				want[k] = fakeHash(v)
			}
			if diff := cmp.Diff(want, reps[0].Claude); diff != "" {
				t.Errorf("the CLI's ANTHROPIC_* and CLAUDE_* variables (-want +got):\n%s", diff)
			}
			for name := range runnerDecoys {
				if name != tc.wantVar && contains(reps[0].Names, name) {
					t.Errorf("%s reached the CLI", name)
				}
			}
			if !contains(reps[0].Names, "FAKECLAUDE_REPORT") {
				t.Error("the other variables did not reach the CLI")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A run ending on a limit takes its subscription out of service (until the
// reset it names, for a quota), a 429 naming no limit leaves it in service,
// and either runs again on another subscription, up to MaxAttempts.
func testRunnerLimits(t *testing.T, bin string) {
	type attempt struct {
		Sub     string
		Verdict claude.VerdictKind
		Cost    float64
	}
	type state struct {
		Sub    string
		Status authpool.Status
	}
	active := authpool.Status{State: authpool.Active}
	for _, tc := range []struct {
		name     string
		stream   bool
		subs     []authpool.Subscription
		env      []string
		prompt   string
		want     []attempt
		states   []state
		wantErr  string // "" for none
		wantIs   error
		notInErr string
	}{{
		name: "quota json", env: []string{modes(runnerCredA, "quota")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictQuota, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC)}}, {"sub-b", active}},
	}, {
		name: "quota json, exit status 0", env: []string{modes(runnerCredA, "quota"), "FAKECLAUDE_ERROR_EXIT=0"}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictQuota, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC)}}, {"sub-b", active}},
	}, {
		name: "quota stream", stream: true, env: []string{modes(runnerCredA, "quota")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictQuota, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 31, 29, 0, time.UTC)}}, {"sub-b", active}},
	}, {
		name: "overloaded", env: []string{modes(runnerCredA, "overloaded")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictOverloaded, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: runnerNow.Add(claude.DefaultOverloadedPause)}}, {"sub-b", active}},
	}, {
		name: "overloaded stream", stream: true, env: []string{modes(runnerCredA, "overloaded")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictOverloaded, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: runnerNow.Add(claude.DefaultOverloadedPause)}}, {"sub-b", active}},
	}, {
		name: "a 429 naming no limit, json: sub-a stays in service", env: []string{modes(runnerCredA, "headerless")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictRequestScoped, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", active}, {"sub-b", active}},
	}, {
		name: "a 429 naming no limit, stream: sub-a stays in service", stream: true, env: []string{modes(runnerCredA, "headerless")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictRequestScoped, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", active}, {"sub-b", active}},
	}, {
		name: "two limits in a row: the third runs it", subs: threeSubs, env: []string{modes(runnerCredA, "quota", runnerCredB, "headerless")}, prompt: "ok",
		want: []attempt{{"sub-a", claude.VerdictQuota, 0}, {"sub-b", claude.VerdictRequestScoped, 0}, {"sub-c", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC)}},
			{"sub-b", active}, {"sub-c", active}},
	}, {
		name: "auth", env: []string{modes(runnerCredA, "auth")}, prompt: "ok",
		want:   []attempt{{"sub-a", claude.VerdictAuth, 0}, {"sub-b", claude.VerdictOK, okCost}},
		states: []state{{"sub-a", authpool.Status{State: authpool.Disabled}}, {"sub-b", active}},
	}, {
		name: "quota everywhere: the retry's error", prompt: "quota",
		want:    []attempt{{"sub-a", claude.VerdictQuota, 0}, {"sub-b", claude.VerdictQuota, 0}},
		states:  []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC)}}, {"sub-b", authpool.Status{State: authpool.Limited, Until: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC)}}},
		wantErr: `claude: run for client "alice" on subscription "sub-b": ended on an API error: quota, HTTP 429 rate_limit_error: You've hit your 5-hour limit · resets 12:31pm (UTC) (exit status 1)`,
	}, {
		name: "nowhere to retry", subs: twoSubs[:1], prompt: "overloaded",
		want:    []attempt{{"sub-a", claude.VerdictOverloaded, 0}},
		states:  []state{{"sub-a", authpool.Status{State: authpool.Limited, Until: runnerNow.Add(claude.DefaultOverloadedPause)}}},
		wantErr: "ended on an API error: overloaded, HTTP 529 overloaded_error", wantIs: authpool.ErrExhausted,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			subs := tc.subs
			if subs == nil {
				subs = twoSubs
			}
			s := newRunnerSetup(t, bin, subs, false, tc.env...)
			s.runner.Stream = tc.stream
			res, err := s.runner.Run(context.Background(), "alice", tc.prompt)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Run: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Run: error %v, want one with %q", err, tc.wantErr)
			case tc.wantIs != nil && !errors.Is(err, tc.wantIs):
				t.Errorf("Run: error %v, want one matching %v", err, tc.wantIs)
			}
			var got []attempt
			for _, a := range res.Attempts {
				got = append(got, attempt{a.Allocation.SubscriptionID, a.Verdict.Kind, a.CostUSD()})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if res.Retried != (len(tc.want) > 1) {
				t.Errorf("Retried = %v", res.Retried)
			}
			var creds, wantCreds []string
			for _, r := range s.reports(t) {
				creds = append(creds, r.Claude["CLAUDE_CODE_OAUTH_TOKEN"])
			}
			for _, a := range tc.want {
				wantCreds = append(wantCreds, fakeHash(map[string]string{"sub-a": runnerCredA, "sub-b": runnerCredB, "sub-c": runnerCredC}[a.Sub]))
			}
			if !cmp.Equal(creds, wantCreds) {
				t.Errorf("the runs' credentials = %v, want %v (%v's)", creds, wantCreds, tc.want)
			}
			var states []state
			for _, sub := range subs {
				states = append(states, state{sub.ID, s.status(t, sub.ID)})
			}
			if diff := cmp.Diff(tc.states, states); diff != "" {
				t.Errorf("the subscriptions (-want +got):\n%s", diff)
			}
			if last := tc.want[len(tc.want)-1]; len(tc.want) > 1 && last.Verdict == claude.VerdictOK {
				a, err := s.pool.Allocate(context.Background(), "alice")
				if err != nil || a.SubscriptionID != last.Sub {
					t.Errorf("after the run, Allocate(alice) = %s, %v; want %s", a.SubscriptionID, err, last.Sub)
				}
			}
		})
	}
}

// A run that fails otherwise is an error saying where and why, and is not
// retried; the pool keeps the subscription in service.
func testRunnerFailures(t *testing.T, bin string) {
	prices := claude.DefaultPrices()
	if err := prices.Set("claude-sonnet-5-5", claude.Price{Input: 3, Output: 15, CacheWrite5m: 3.75, CacheWrite1h: 6, CacheRead: 0.3}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		stream  bool
		command string
		prompt  string
		want    []string // in the error
		is      error
		exit    int
		cost    float64
	}{
		{name: "garbage json", prompt: "garbage", exit: 0,
			want: []string{`on subscription "sub-a": stdout: json result: not JSON: invalid character '<' looking for beginning of value (byte 1)`}},
		{name: "garbage stream", stream: true, prompt: "garbage", exit: 0,
			want: []string{`on subscription "sub-a": stdout: stream-json line 1: not JSON`}},
		{name: "exit", prompt: "exit", exit: 2,
			want: []string{`on subscription "sub-a": exit status 2; stderr: "Error: the fake failed while running exit with [REDACTED]"`}},
		{name: "exit stream", stream: true, prompt: "exit", exit: 2, want: []string{"exit status 2; stderr:"}},
		{name: "stream cut", stream: true, prompt: "partial", exit: 0, cost: (12*3 + 200*0.3 + 100*3.75 + 1*15) / 1e6, // its last assistant line's tokens, at the prices set
			want: []string{`on subscription "sub-a": stdout: stream-json: the stream ended without a result line`}},
		{name: "no such command", command: filepath.Join(t.TempDir(), "no-claude"), prompt: "ok", exit: -1,
			want: []string{`run for client "alice" on subscription "sub-a": `, "no-claude"}, is: os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newRunnerSetup(t, bin, twoSubs, false)
			s.runner.Stream, s.runner.Prices = tc.stream, prices
			if tc.command != "" {
				s.runner.Command = tc.command
			}
			res, err := s.runner.Run(context.Background(), "alice", tc.prompt)
			if err == nil {
				t.Fatal("Run: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run: error\n%v\nwant one with\n%s", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Run: error %v, want one matching %v", err, tc.is)
			}
			var re *cli.RunError
			if !errors.As(err, &re) || re.ExitCode != tc.exit || re.SubscriptionID != "sub-a" || re.ClientID != "alice" {
				t.Errorf("Run: error %#v, want a *RunError with exit status %d", err, tc.exit)
			}
			if len(res.Attempts) != 1 || res.Retried {
				t.Errorf("%d attempts, retried %v: want 1, not retried", len(res.Attempts), res.Retried)
			}
			if got := res.CostUSD(); got < tc.cost-1e-12 || got > tc.cost+1e-12 {
				t.Errorf("CostUSD = %v, want %v", got, tc.cost)
			}
			if st := s.status(t, "sub-a"); st.State != authpool.Active {
				t.Errorf("sub-a is %v, want active", st)
			}
		})
	}
}

// Cancelling the context interrupts a run at once, however long the CLI
// would take.
func testRunnerCancel(t *testing.T, bin string) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			s := newRunnerSetup(t, bin, twoSubs, false, "FAKECLAUDE_NOTIFY="+ln.Addr().String())
			s.runner.Stream = stream
			s.runner.WaitDelay = time.Minute // the interrupt must end it, not the kill
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type ret struct {
				res cli.RunResult
				err error
			}
			done := make(chan ret, 1)
			go func() {
				res, err := s.runner.Run(ctx, "alice", "slow")
				done <- ret{res, err}
			}()
			c, err := ln.Accept() // the fake has started
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			cancelled := time.Now()
			cancel()
			r := <-done
			if d := time.Since(cancelled); d > 10*time.Second {
				t.Errorf("Run returned %v after the cancel", d)
			}
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("Run: error %v, want context.Canceled", r.err)
			}
			if len(r.res.Attempts) != 1 || r.res.Attempts[0].ExitCode != -1 || r.res.Retried {
				t.Errorf("attempts %+v, want one, ended by a signal", r.res.Attempts)
			}
			if st := s.status(t, "sub-a"); st.State != authpool.Active {
				t.Errorf("sub-a is %v, want active", st)
			}
		})
	}
}

// The CLI gets the Runner's Args, the run's, the output format, the model
// and the prompt, as an operand even when it looks like an option; a model
// goes to Allocate too.
func testRunnerArguments(t *testing.T, bin string) {
	for _, tc := range []struct {
		name   string
		args   []string
		stream bool
		opts   []cli.RunOption
		prompt string
		want   []string
		sub    string
	}{
		{name: "json", prompt: "ok", want: []string{"--output-format", "json", "-p"}, sub: "sub-a"},
		{name: "stream", stream: true, prompt: "ok", want: []string{"--output-format", "stream-json", "--verbose", "-p"}, sub: "sub-a"},
		{name: "args", args: []string{"--max-turns", "3"}, opts: []cli.RunOption{cli.RunArgs("--dangerously-skip-permissions")}, prompt: "ok",
			want: []string{"--max-turns", "3", "--dangerously-skip-permissions", "--output-format", "json", "-p"}, sub: "sub-a"},
		{name: "a prompt like an option", prompt: "--model x", want: []string{"--output-format", "json", "-p", "--"}, sub: "sub-a"},
		{name: "model", opts: []cli.RunOption{cli.RunModel("claude-opus-4-7")}, prompt: "ok",
			want: []string{"--output-format", "json", "--model", "claude-opus-4-7", "-p"}, sub: "sub-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newRunnerSetup(t, bin, twoSubs, false)
			s.runner.Args, s.runner.Stream = tc.args, tc.stream
			// sub-a is out for Opus: a run on Opus goes to sub-b.
			if err := s.pool.MarkModelLimited(context.Background(), "sub-a", "opus", runnerNow.Add(time.Hour), "weekly Opus limit"); err != nil {
				t.Fatal(err)
			}
			res, err := s.runner.Run(context.Background(), "alice", tc.prompt, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			reps := s.reports(t)
			if len(reps) != 1 {
				t.Fatalf("%d runs", len(reps))
			}
			if diff := cmp.Diff(tc.want, reps[0].Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if reps[0].Prompt != fakeHash(tc.prompt) {
				t.Error("the CLI did not get the prompt")
			}
			if res.Allocation.SubscriptionID != tc.sub {
				t.Errorf("ran on %s, want %s", res.Allocation.SubscriptionID, tc.sub)
			}
		})
	}
}

// No log line, error or result shows a credential (the allocated ones, and
// the decoys of the base environment) or the prompt, whatever the run does:
// here the fake's stderr quotes both.
func testRunnerNothingSecretShown(t *testing.T, bin string) {
	const marker = "PROMPT-SECRET-7f3a9c21"
	for _, mode := range []string{"ok", "quota", "overloaded", "auth", "authecho", "garbage", "exit", "partial"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", mode, stream), func(t *testing.T) {
				t.Parallel()
				s := newRunnerSetup(t, bin, twoSubs, true)
				s.runner.Stream = stream
				prompt := mode + " please: " + marker + "\nsecond line " + marker + "-2"
				res, err := s.runner.Run(context.Background(), "alice", prompt)
				resJSON, jerr := json.Marshal(res)
				if jerr != nil {
					t.Fatal(jerr)
				}
				snap, serr := s.pool.Snapshot(context.Background())
				if serr != nil {
					t.Fatal(serr)
				}
				snapJSON, jerr := json.Marshal(snap)
				if jerr != nil {
					t.Fatal(jerr)
				}
				shown := map[string]string{
					"log":         s.logs.String(),
					"error":       fmt.Sprint(err),
					"result":      fmt.Sprintf("%+v %#v", res, res),
					"result JSON": string(resJSON),
					"snapshot":    string(snapJSON), // the subscriptions' reasons: what Apply told the pool
				}
				if mode == "authecho" && !strings.Contains(shown["snapshot"], "invalid x-api-key [REDACTED] for [REDACTED]") {
					t.Errorf("the echoed credential and prompt are not redacted in the status reason:\n%s", shown["snapshot"])
				}
				if !strings.Contains(shown["log"], `msg="claude: run"`) {
					t.Errorf("no log line of the run:\n%s", shown["log"])
				}
				for what, text := range shown {
					for _, secret := range append([]string{marker}, runnerSecrets...) {
						if strings.Contains(text, secret) {
							t.Errorf("the %s shows %q:\n%s", what, secret, text)
						}
					}
				}
			})
		}
	}
}

// Concurrent runs for many clients each record once, on their own
// subscription.
func testRunnerConcurrent(t *testing.T, bin string) {
	s := newRunnerSetup(t, bin, twoSubs, false, modes(runnerCredB, "quota"))
	s.runner.Stream = true
	const clients = 8
	var wg sync.WaitGroup
	errs := make([]error, clients)
	results := make([]cli.RunResult, clients)
	for i := range clients {
		wg.Go(func() {
			results[i], errs[i] = s.runner.Run(context.Background(), fmt.Sprintf("client-%d", i), "ok")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client-%d: %v", i, err)
		}
		if r := results[i]; r.Allocation.SubscriptionID != "sub-a" || r.Verdict.Kind != claude.VerdictOK {
			t.Errorf("client-%d: ran on %s, %v; want sub-a, ok", i, r.Allocation.SubscriptionID, r.Verdict.Kind)
		}
	}
	snap, err := s.pool.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, sess := range snap.Sessions {
		total += sess.CostUSD
		if sess.Requests != 1 || sess.SubscriptionID != "sub-a" {
			t.Errorf("session %+v: want 1 request on sub-a", sess)
		}
	}
	if want := clients * okCost; total < want-1e-9 || total > want+1e-9 {
		t.Errorf("the sessions cost %v, want %v", total, want)
	}
}

func TestIsCredentialVar(t *testing.T) {
	for name, want := range map[string]bool{
		"ANTHROPIC_API_KEY": true, "ANTHROPIC_AUTH_TOKEN": true, "CLAUDE_CODE_OAUTH_TOKEN": true,
		"CLAUDE_CODE_OAUTH_REFRESH_TOKEN": true, "ANTHROPIC_FOUNDRY_API_KEY": true, "anthropic_api_key": true,
		"CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR": true, "ANTHROPIC_CUSTOM_HEADERS": true, "CLAUDE_CODE_USE_BEDROCK": true,
		"CLAUDE_CODE_USE_VERTEX": true, "CLAUDE_CODE_USE_FOUNDRY": true,
		"ANTHROPIC_BASE_URL": false, "ANTHROPIC_MODEL": false, "CLAUDE_CODE_MAX_OUTPUT_TOKENS": false,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": false, "GITHUB_TOKEN": false, "PATH": false, "ANTHROPIC_KEYBOARD": false,
	} {
		if got := cli.IsCredentialVar(name); got != want {
			t.Errorf("IsCredentialVar(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRunnerRefuses(t *testing.T) {
	p, err := authpool.New(context.Background(), authpool.Config{Subscriptions: twoSubs})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for name, r := range map[string]*cli.Runner{"no pool": {}, "empty prompt": {Pool: p}} {
		prompt := "ok"
		if r.Pool != nil {
			prompt = ""
		}
		if _, err := r.Run(context.Background(), "alice", prompt); !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Errorf("%s: Run: %v, want ErrInvalidArgument", name, err)
		}
	}
}

// A run keeps its client's slot while it lasts, though the pool sees none
// of its requests (they go straight to the API): half an hour into a run on
// the only slot, another client is refused.
func testRunnerHolds(t *testing.T, bin string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	now := runnerNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	p, err := authpool.New(context.Background(), authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "sub-a", Kind: authpool.KindPro, Credential: runnerCredA, MaxClients: 1}}}, authpool.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	r := &cli.Runner{Pool: p, Command: bin, Clock: clock, HoldEvery: 10 * time.Millisecond,
		Env: []string{"FAKECLAUDE_NOTIFY=" + ln.Addr().String()}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, "alice", "slow")
		done <- err
	}()
	c, err := ln.Accept() // the fake has started
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	hold := func() time.Time {
		s, err := p.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range s.Sessions {
			if ss.ClientID == "alice" {
				return ss.HoldUntil
			}
		}
		return time.Time{}
	}
	for range 6 { // half an hour, in steps of the pool's idle time
		advance(defaultIdleAfter)
		for deadline := time.Now().Add(10 * time.Second); !hold().After(clock()); {
			if time.Now().After(deadline) {
				t.Fatalf("alice's hold %v has not moved past %v while her run goes on", hold(), clock())
			}
			time.Sleep(time.Millisecond)
		}
	}
	if _, err := p.Allocate(context.Background(), "bob"); !errors.Is(err, authpool.ErrExhausted) {
		t.Errorf("Allocate(bob) half an hour into alice's run = %v; want ErrExhausted: she holds the only slot", err)
	}
	cancel()
	<-done
}

// defaultIdleAfter is the pool's default Sessions.IdleAfter.
var defaultIdleAfter = time.Duration(authpool.Config{}.WithDefaults().Sessions.IdleAfter)
