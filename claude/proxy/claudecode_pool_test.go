package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// Issue 13's first two cases, reproduced with fakeanthropic.CLI in front of
// the proxy: what Claude Code 2.1.332 asks for without --model, and what its
// one-shot runs do to a pool.

// defaultModelCost is what Claude Code 2.1.332 charges for cliUsage (12
// input tokens, 7 output, 100 written to the 5-minute cache, 200 read) on
// its default model of each auth mode (docs/prices.md).
var defaultModelCost = map[fakeanthropic.CLIAuth]float64{
	fakeanthropic.AuthAPIKey: (12*4 + 7*20 + 100*5 + 200*0.2) / 1e6, // claude-opus-5-5
	fakeanthropic.AuthToken:  (12*4 + 7*20 + 100*5 + 200*0.2) / 1e6,
	fakeanthropic.AuthOAuth:  (12*2 + 7*10 + 100*2.5 + 200*0.1) / 1e6, // claude-sonnet-5-5
}

// weekCost is what the pool counted on every subscription this week.
func weekCost(t *testing.T, s *ccSetup) float64 {
	t.Helper()
	var sum float64
	for _, sub := range frontSubs {
		sum += s.sub(t, sub.ID).Week.CostUSD
	}
	return sum
}

// Without --model, Claude Code asks for claude-opus-5-5 with a key or an
// auth token and claude-sonnet-5-5 with an OAuth token: the pool records
// each at what Claude Code charges for it, with no estimate (they used to be
// recorded at $0, which no budget, health or cap saw).
func TestClaudeCodeDefaultModelsArePriced(t *testing.T) {
	for _, auth := range []fakeanthropic.CLIAuth{fakeanthropic.AuthAPIKey, fakeanthropic.AuthToken, fakeanthropic.AuthOAuth} {
		t.Run(authName(auth), func(t *testing.T) {
			t.Parallel()
			s := newCCSetup(t, frontSubs, ccCallers)
			s.up.SetDefault(fakeanthropic.OK(cliUsage))
			cli, _ := s.cli(auth, keyBob)
			cli.Model = "" // Claude Code's default
			for range 3 {
				if turn, err := cli.Session().Turn(t.Context()); err != nil || turn.Status != 200 {
					t.Fatalf("turn = %d %q, %v", turn.Status, turn.Shown, err)
				}
			}
			if got, want := weekCost(t, s), 3*defaultModelCost[auth]; got < want-1e-12 || got > want+1e-12 {
				t.Errorf("the pool counted $%v for three runs; want $%v", got, want)
			}
			if n := s.pool.Stats().EstimatedUsages; n != 0 {
				t.Errorf("%d usages priced at an estimate; want none: the table knows the default models", n)
			}
		})
	}
}

// A caller capped at $0.0018 runs `claude -p` with its default model in
// OAuth mode, each run $0.000364: five are served and the sixth, the cap
// spent, shows Claude Code's own limit line (before, all six went through,
// recorded at $0).
func TestClaudeCodeDefaultModelMovesTheCap(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, frontSubs, []proxy.Caller{{ID: "ci", Key: keyAlice, CapUSD: 0.0018}})
	s.up.SetDefault(fakeanthropic.OK(cliUsage))
	cli, _ := s.cli(fakeanthropic.AuthOAuth, keyAlice)
	cli.Model = ""
	var shown []string
	for range 6 {
		turn, err := cli.Session().Turn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, turn.Shown)
	}
	for i, line := range shown[:5] {
		if line != fakeanthropic.DefaultText {
			t.Errorf("run %d shows %q; want the answer", i+1, line)
		}
	}
	if !strings.HasPrefix(shown[5], "You've hit your limit · resets ") {
		t.Errorf("the sixth run shows %q; want Claude Code's limit line", shown[5])
	}
}

// oneShotUsage is what a run's one request used: in OAuth mode Claude Code
// writes an hour's cache, with a key the 5-minute one (docs/claude-code.md).
func oneShotUsage(auth fakeanthropic.CLIAuth) fakeanthropic.Usage {
	if auth == fakeanthropic.AuthOAuth {
		return fakeanthropic.Usage{Input: 12, Output: 7, CacheWrite1h: 100, CacheRead: 200}
	}
	return cliUsage
}

// 200 one-shot `claude -p` runs, one every 20 seconds for more than an hour,
// each a new session, on three subscriptions of 15: every run is served, in
// either auth mode. A slot is held by a working client: a run holds one for
// the pool's idle time after its request, even in OAuth mode, where its
// request wrote an hour's cache that no later run will read (before, the
// 46th run within 30 minutes was refused while every subscription idled).
func TestClaudeCodeOneShotRunsDoNotFillThePool(t *testing.T) {
	for _, auth := range []fakeanthropic.CLIAuth{fakeanthropic.AuthAPIKey, fakeanthropic.AuthOAuth} {
		t.Run(authName(auth), func(t *testing.T) {
			t.Parallel()
			s := newCCSetup(t, frontSubs, ccCallers)
			s.up.SetDefault(fakeanthropic.OK(oneShotUsage(auth)))
			cli, _ := s.cli(auth, keyBob)
			most := 0
			for i := range 200 {
				turn, err := cli.Session().Turn(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if turn.Status != 200 {
					t.Fatalf("run %d at +%v: %d %q; want it served", i+1, s.clk.Now().Sub(frontNow), turn.Status, turn.Shown)
				}
				active := 0
				for _, sub := range frontSubs {
					active += s.sub(t, sub.ID).ActiveClients
				}
				most = max(most, active)
				s.clk.Advance(20 * time.Second)
			}
			// A run every 20 s, each holding a slot for 5 minutes: 15 at once.
			if most > 16 {
				t.Errorf("up to %d clients held a slot at once; want the runs of the last 5 minutes, 15", most)
			}
		})
	}
}

// An interactive session in OAuth mode writes an hour's cache and comes
// back to it: it holds its slot for the hour, so a one-shot run that finds
// the only slot taken is refused, told when the slot frees up (the CLI will
// not wait that long), and served once the hour is over.
func TestClaudeCodeInteractiveSessionHoldsItsCache(t *testing.T) {
	t.Parallel()
	one := []authpool.Subscription{frontSubs[0]}
	one[0].MaxClients = 1
	s := newCCSetup(t, one, ccCallers)
	s.up.SetDefault(fakeanthropic.OK(oneShotUsage(fakeanthropic.AuthOAuth)))
	interactive, _ := s.cli(fakeanthropic.AuthOAuth, keyBob)
	interactive.Interactive = true
	if turn, err := interactive.Session().Turn(t.Context()); err != nil || turn.Status != 200 {
		t.Fatalf("the interactive turn = %d %q, %v", turn.Status, turn.Shown, err)
	}
	s.clk.Advance(30 * time.Minute)
	oneShot, waits := s.cli(fakeanthropic.AuthOAuth, keyBob)
	turn, err := oneShot.Session().Turn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if turn.Status != 429 || len(*waits) != 0 || !strings.Contains(turn.Shown, "(in 30 min)") {
		t.Errorf("a run half an hour later: %d %q after waits %v; want refused at once, told the slot frees in 30 min",
			turn.Status, turn.Shown, *waits)
	}
	s.clk.Advance(30*time.Minute + time.Second)
	if turn, err := oneShot.Session().Turn(t.Context()); err != nil || turn.Status != 200 {
		t.Errorf("a run after the hour = %d %q, %v; want it served", turn.Status, turn.Shown, err)
	}
}

// A request whose User-Agent is Claude Code's non-interactive entrypoint
// (sdk-cli: `claude -p`) comes from a run that ends when its process does:
// its client holds its slot for the pool's idle time, whatever cache it
// wrote; any other request holds it as long as the cache it wrote lives.
func TestClaudeCodeOneShotUserAgent(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, []authpool.Subscription{frontSubs[0]}, ccCallers)
	s.up.SetDefault(fakeanthropic.OK(oneShotUsage(fakeanthropic.AuthOAuth)))
	for _, tc := range []struct {
		ua   string
		hold time.Duration
	}{
		{"claude-cli/2.1.332 (external, sdk-cli)", defaultIdleAfter},
		{"claude-cli/2.1.332 (external, cli)", time.Hour},
		{"claude-cli/3.0.1 (external, sdk-cli)", defaultIdleAfter},
		{"claude-cli/2.1.332 (external, sdk-ts)", time.Hour},
		{"Anthropic/JS 0.60.0", time.Hour},
		{"sdk-cli", time.Hour},
	} {
		client := fmt.Sprintf("ua-%d", len(tc.ua))
		if code := uaAsk(t, s, client, tc.ua); code != 200 {
			t.Fatalf("%q: status %d", tc.ua, code)
		}
		if got := s.session(t, client).HoldUntil.Sub(s.clk.Now()); got != tc.hold {
			t.Errorf("a request of %q holds its slot for %v; want %v", tc.ua, got, tc.hold)
		}
	}
}

// uaAsk sends one streamed request for client through the Transport with
// the User-Agent ua, reads its answer and returns its status.
func uaAsk(t *testing.T, s *ccSetup, client, ua string) int {
	t.Helper()
	body := `{"model":"claude-sonnet-5-5","max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, err := http.NewRequestWithContext(proxy.WithClient(t.Context(), client), http.MethodPost,
		s.ts.URL+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	resp, err := s.tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// defaultIdleAfter is the pool's default Sessions.IdleAfter.
var defaultIdleAfter = time.Duration(authpool.Config{}.WithDefaults().Sessions.IdleAfter)
