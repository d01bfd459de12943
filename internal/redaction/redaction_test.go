// Package redaction_test proves that no secret leaks: one test runs a
// pool's whole life with recognizable secrets and looks for them in
// everything the library says (issue 7, item 2); another runs the server,
// `authpool serve`, and looks in its answers, logs, pages and store
// (server_test.go, issue 16).
package redaction_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/webhook"
)

// The secrets: each is recognizable (REDACTME-7f3a9c) and unique past it,
// so that any 12 bytes of one found anywhere point at a leak.
const (
	subA       = "sk-ant-oat01-REDACTME-7f3a9c-sub-a-c4d1e8f02b97a365"  // subscription sub-a, from {"env"}
	subB       = "sk-ant-oat01-REDACTME-7f3a9c-sub-b-91ae5cf7d0b24863"  // subscription sub-b, from {"file"}
	fallback   = "sk-ant-api03-REDACTME-7f3a9c-fallback-5e08b1a7c2f9d4" // the fallback's key, from {"file"}
	keyAlice   = "caller-REDACTME-7f3a9c-alice-0b6f3e92a8d1c547"        // caller alice's key, from {"env"}
	keyBob     = "caller-REDACTME-7f3a9c-bob-a27c9d40e6b18f35"          // caller bob's key, from {"file"}
	whSecret   = "whsec-REDACTME-7f3a9c-hook-6d2b8e0f49a3c71e"          // the webhook's secret, from {"file"}
	strayKey   = "sk-ant-api03-REDACTME-7f3a9c-stray-f83a06d9b5c2e147"  // a key the proxy does not know
	shortKey   = "REDACTME-7f3a9"                                       // a caller key too short to take
	multiline  = "sk-ant-oat01-REDACTME-7f3a9c-multi-2e7d\nsecond-line-84c1b09f"
	subANew    = "sk-ant-oat01-REDACTME-7f3a9c-sub-a-new-7c20d9e4f1a6" // sub-a's token, refreshed
	subBNew    = "sk-ant-oat01-REDACTME-7f3a9c-sub-b-new-3f95a0c7e2d8" // sub-b's refreshed token, which fails
	hookPath   = "T0REDACTME7f3a9c/B0hookpath/5c1e9a7d3b2f8064"        // a token in the webhook URL's path (as Slack's)
	hookQuery  = "REDACTME-7f3a9c-hook-query-a8e2c4f6b1d3"             // a token in the webhook URL's query
	model      = "claude-sonnet-4-5-20250929"
	windowSize = 12
)

var secrets = []string{subA, subB, fallback, keyAlice, keyBob, whSecret, strayKey, shortKey, multiline, subANew, subBNew,
	hookPath, hookQuery}

// TestNoSecretLeaks runs a pool's whole life — config load (and bad
// configs naming the secrets), allocate, record, the errors of the API,
// notifications by log and webhook, a proxy with its refusals and the
// upstream's failures, credential refreshes that succeed and fail naming
// the tokens, Snapshot, Stats, a /metrics scrape and the status page, and
// every value printed — and asserts that no secret, nor any 12 bytes of
// one, appears in what the library said.
func TestNoSecretLeaks(t *testing.T) {
	ctx := context.Background()
	var said transcript
	var clockNS atomic.Int64
	clockNS.Store(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clockNS.Load()).UTC() }
	advance := func(d time.Duration) { clockNS.Add(int64(d)) }

	// The webhook's receiver keeps every body and header it got; the URL it
	// was called at is where the URL's tokens belong, so it keeps whether
	// they were there.
	var hookURLRight, hookURLWrong atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/hooks/"+hookPath && r.URL.Query().Get("token") == hookQuery {
			hookURLRight.Add(1)
		} else {
			hookURLWrong.Add(1)
		}
		said.add("webhook request", "%s\n%v\n%s", r.Method, r.Header, body)
	}))
	defer hook.Close()
	hookURL := hook.URL + "/hooks/" + hookPath + "?token=" + hookQuery

	// --- Config load: secrets from {"env"} and {"file"}.
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Setenv("REDACTION_SUB_A", subA)
	t.Setenv("REDACTION_ALICE", keyAlice)
	t.Setenv("REDACTION_MULTILINE", multiline)
	write("secrets/sub-b.token", subB+"\n")
	write("secrets/fallback.key", fallback+"\n")
	write("secrets/bob.key", keyBob)
	write("secrets/webhook.secret", whSecret+"\n")
	write("secrets/multiline.token", multiline+"\n")
	write("secrets/huge.token", strings.Repeat(subA, 70<<10/len(subA)))
	write("secrets/short.key", shortKey)
	good := fmt.Sprintf(`{
  "subscriptions": [
    {"id": "sub-a", "kind": "max20x", "credential": {"env": "REDACTION_SUB_A"}, "credentialExpiresAt": "2026-11-26T12:30:00Z", "weeklyBudgetUSD": 1000, "blockBudgetUSD": 10},
    {"id": "sub-b", "kind": "max5x", "credential": {"file": "secrets/sub-b.token"}, "credentialExpiresAt": "2026-11-26T12:30:00Z", "weeklyBudgetUSD": 250, "blockBudgetUSD": 5}
  ],
  "fallback": {"name": "api-key", "credential": {"file": "secrets/fallback.key"}, "dailyBudgetUSD": 1},
  "callers": [
    {"id": "alice", "key": {"env": "REDACTION_ALICE"}, "rate": {}},
    {"id": "bob", "key": {"file": "secrets/bob.key"}, "rate": {"perSecond": 0.001, "burst": 3}}
  ],
  "notify": {
    "log": {"level": "debug"},
    "webhooks": [{"url": %q, "secret": {"file": "secrets/webhook.secret"}, "maxAttempts": 1}]
  }
}`, hookURL)
	file, err := configfile.Load(write("pool.json", good))
	if err != nil {
		t.Fatalf("configfile.Load: %v", err)
	}
	cfg, hooks := file.Config, file.Webhooks
	if cfg.Subscriptions[0].Credential.Reveal() != subA || cfg.Subscriptions[1].Credential.Reveal() != subB ||
		cfg.Fallback.Credential.Reveal() != fallback || file.Callers[0].Key.Reveal() != keyAlice ||
		file.Callers[1].Key.Reveal() != keyBob || hooks[0].Secret.Reveal() != whSecret {
		t.Fatal("configfile.Load did not read the secrets") // says which without saying them
	}
	said.values("File", file)
	said.values("Config", cfg)
	said.values("Subscription", cfg.Subscriptions[0])
	said.values("Fallback", *cfg.Fallback)
	said.values("Caller", file.Callers[0])
	said.values("webhook.Config", hooks[0])

	// Bad configs that reference the secrets, or hold them where they do
	// not belong: each must be refused without showing them.
	bad := map[string]string{
		"unknown field next to the secrets":  strings.Replace(good, `"notify"`, `"notfy"`, 1),
		"a credential spanning lines (env)":  `{"subscriptions": [{"id": "a", "kind": "pro", "credential": {"env": "REDACTION_MULTILINE"}}]}`,
		"a credential spanning lines (file)": `{"subscriptions": [{"id": "a", "kind": "pro", "credential": {"file": "secrets/multiline.token"}}]}`,
		"a credential file over 64 KiB":      `{"subscriptions": [{"id": "a", "kind": "pro", "credential": {"file": "secrets/huge.token"}}]}`,
		"a literal credential":               fmt.Sprintf(`{"subscriptions": [{"id": "a", "kind": "pro", "credential": %q}], "fallback": {"credential": %q, "dailyBudgetUSD": 1}}`, subA, fallback),
		"a literal webhook secret":           fmt.Sprintf(`{"notify": {"webhooks": [{"url": "https://hooks.example.com/x", "secret": %q}]}}`, whSecret),
		"a literal caller key":               fmt.Sprintf(`{"callers": [{"id": "x", "key": %q}]}`, keyAlice),
		"a secret pasted as an env name":     fmt.Sprintf(`{"subscriptions": [{"id": "a", "kind": "pro", "credential": {"env": %q}}]}`, subA),
		"a caller key too short":             `{"callers": [{"id": "x", "key": {"file": "secrets/short.key"}}]}`,
		"duplicate caller keys":              `{"callers": [{"id": "x", "key": {"env": "REDACTION_ALICE"}}, {"id": "y", "key": {"env": "REDACTION_ALICE"}}]}`,
		"a short webhook secret":             `{"notify": {"webhooks": [{"url": "https://hooks.example.com/x", "secret": {"file": "secrets/short.key"}}]}}`,
		"a secret in a syntax error":         fmt.Sprintf(`{"subscriptions": [{"credential": %q,}]}`, subA),
		"a secret as a wrong type":           fmt.Sprintf(`{"maxClients": %q}`, subA),
		"literals allowed, but invalid":      fmt.Sprintf(`{"allowLiteralCredentials": true, "subscriptions": [{"id": "a", "kind": "nope", "credential": %q}]}`, subA),
	}
	for name, text := range bad {
		_, err := configfile.Load(write("bad.json", text))
		if !errors.Is(err, authpool.ErrInvalidConfig) {
			t.Errorf("bad config %q: %v; want ErrInvalidConfig", name, err)
		}
		said.err("bad config "+name, err)
	}
	// New and webhook.New refuse bad Go configs that carry the secrets.
	if _, err := webhook.New(webhook.Config{URL: "https://hooks.example.com/x", Secret: shortKey}, nil); err == nil {
		t.Error("webhook.New with a short secret: no error")
	} else {
		said.err("webhook.New with a short secret", err)
	}
	for name, c := range map[string]authpool.Config{
		"a subscription without a kind": {Subscriptions: []authpool.Subscription{{ID: "a", Credential: subA}}},
		"a duplicate subscription": {Subscriptions: []authpool.Subscription{
			{ID: "a", Kind: authpool.KindPro, Credential: subA}, {ID: "a", Kind: authpool.KindPro, Credential: subB}}},
		"a fallback without a budget": {Fallback: &authpool.Fallback{Credential: fallback}},
		"a credential spanning lines": {Subscriptions: []authpool.Subscription{{ID: "a", Kind: authpool.KindPro, Credential: multiline}}},
	} {
		_, err := authpool.New(ctx, c)
		if err == nil {
			t.Errorf("New with %s: no error", name)
		}
		said.err("New with "+name, err)
	}
	if err := proxy.ValidateCallers([]proxy.Caller{{ID: "x", Key: shortKey}}); err == nil {
		t.Error("ValidateCallers with a short caller key: no error")
	} else {
		said.err("ValidateCallers with a short caller key", err)
	}

	// --- The pool, logging at debug level into a JSON handler.
	var poolLog syncBuffer
	logger := slog.New(slog.NewJSONHandler(&poolLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hookOpts, err := file.Options(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authpool.New(ctx, cfg, append(hookOpts, authpool.WithClock(now), authpool.WithLogger(logger))...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// A second webhook notifier made directly. (The config's log notifier
	// logs every event into the pool's log.)
	wn, err := webhook.New(hooks[0], hook.Client())
	if err != nil {
		t.Fatal(err)
	}
	said.values("WebhookNotifier", wn)
	events := make(chan authpool.Event, 1024)
	tap := authpool.NotifierFunc(func(ctx context.Context, e authpool.Event) error {
		said.err("WebhookNotifier.Notify", wn.Notify(ctx, e))
		said.values("Event", e)
		events <- e
		return nil
	})
	// Its refresher refreshes sub-a's and sub-b's tokens from 11:30, an hour
	// before they expire: after the proxy's traffic (see refreshAll).
	p2, err := authpool.New(ctx, cfg, append(hookOpts, authpool.WithClock(now), authpool.WithLogger(logger), authpool.WithNotifier(tap),
		authpool.WithRefresher(refresher(now), time.Hour))...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_ = p.Close(ctx)
	p = p2

	// --- Allocate, record, and every error the API returns.
	a, err := p.Allocate(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Credential.Reveal() != subA {
		t.Fatalf("dev-1 got %s, not sub-a", a.SubscriptionID)
	}
	said.values("Allocation", a)
	use := func(client string, usd float64, id string) {
		t.Helper()
		err := p.Record(ctx, client, authpool.Usage{ID: id, Time: now(), CostUSD: usd, Model: model,
			Tokens: authpool.Tokens{Input: 100, Output: 200}})
		said.err("Record", err)
	}
	use("dev-1", 8.5, "msg_1") // 85 % of sub-a's block: a threshold event
	use("dev-1", 0.5, "msg_1") // a duplicate
	for _, u := range []authpool.Usage{
		{Time: now(), CostUSD: -1},
		{Time: now(), CostUSD: 1e300},
		{CostUSD: 1},
		{Time: now().Add(time.Hour), CostUSD: 1},
		{Time: now(), Tokens: authpool.Tokens{Input: -1}},
		{Time: now(), SubscriptionID: "nope"},
	} {
		err := p.Record(ctx, "dev-1", u)
		if err == nil {
			t.Errorf("Record(%+v): no error", u)
		}
		said.err("Record (invalid)", err)
	}
	said.err("Record (unknown client)", p.Record(ctx, "nobody", authpool.Usage{Time: now(), CostUSD: 1}))
	_, err = p.Allocate(ctx, "")
	said.err("Allocate (empty)", err)
	said.err("Release (unknown)", p.Release(ctx, "nobody"))
	said.err("MarkLimited (not found)", p.MarkLimited(ctx, "nope", now().Add(time.Hour), "x"))
	said.err("AddSubscription (exists)", p.AddSubscription(ctx, authpool.Subscription{ID: "sub-a", Kind: authpool.KindPro, Credential: subA}))
	said.err("AddSubscription (invalid)", p.AddSubscription(ctx, authpool.Subscription{ID: "sub-x", Credential: subB}))
	said.err("AddSubscription (multiline)", p.AddSubscription(ctx, authpool.Subscription{ID: "sub-y", Kind: authpool.KindPro, Credential: multiline}))
	credA, credMulti, minusOne := authpool.Credential(subA), authpool.Credential(multiline), -1
	said.err("UpdateSubscription (not found)", p.UpdateSubscription(ctx, "nope", authpool.SubscriptionUpdate{Credential: &credA}))
	said.err("UpdateSubscription (invalid)", p.UpdateSubscription(ctx, "sub-a", authpool.SubscriptionUpdate{Credential: &credA, MaxClients: &minusOne}))
	said.err("UpdateSubscription (multiline)", p.UpdateSubscription(ctx, "sub-a", authpool.SubscriptionUpdate{Credential: &credMulti}))
	subsNow, err := p.Subscriptions(ctx)
	said.err("Subscriptions", err)
	said.values("Subscriptions", subsNow)

	// A limit, a failover and its recovery; the limit's reason quotes the
	// upstream, which echoed the credential.
	said.err("MarkLimited", p.MarkLimited(ctx, "sub-a", now().Add(time.Hour), "5-hour limit reached; upstream: invalid x-api-key "+subA))
	a, err = p.Allocate(ctx, "dev-1")
	said.err("Allocate (moved)", err)
	said.values("Allocation (moved)", a)
	report, err := p.Rebalance(ctx)
	said.err("Rebalance", err)
	said.values("RebalanceReport", report)

	// --- The proxy, on a fake upstream, logging into the pool's log.
	up := &fakeanthropic.Server{}
	ts := httptest.NewServer(up)
	defer ts.Close()
	tr := &proxy.Transport{Pool: p, Base: ts.Client().Transport, Clock: now, Logger: logger}
	px, err := proxy.New(tr, file.Callers, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	px.Logger = logger
	px.MaxBody = 64 << 10
	ps := httptest.NewServer(px)
	defer ps.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	proxyDown, err := proxy.New(tr, file.Callers, downURL)
	if err != nil {
		t.Fatal(err)
	}
	proxyDown.Logger = logger
	psDown := httptest.NewServer(proxyDown)
	defer psDown.Close()
	msg := `{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	stream := `{"model":"` + model + `","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	statuses := map[int]bool{}
	send := func(base, path, body string, hdr ...string) (status int, answer string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			said.err("proxy client", err)
			return 0, ""
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		said.err("proxy client read", err)
		statuses[resp.StatusCode] = true
		said.add("proxy response", "%s\n%v\n%s", resp.Status, resp.Header, b)
		return resp.StatusCode, string(b)
	}
	alice, bob := []string{"x-api-key", keyAlice}, []string{"Authorization", "Bearer " + keyBob}
	send(ps.URL, "/v1/messages", msg, alice...)
	send(ps.URL, "/v1/messages", stream, bob...)
	send(ps.URL, "/v1/messages/count_tokens?beta=true", msg, alice...)
	send(ps.URL, "/v1/messages", msg, "x-api-key", strayKey)               // 401
	send(ps.URL, "/v1/messages", msg, "Authorization", "Bearer "+strayKey) // 401
	send(ps.URL, "/v1/complete", msg, alice...)                            // 404
	send(ps.URL, "/v1/messages", strings.Repeat(" ", 100<<10), bob...)     // 413
	send(psDown.URL, "/v1/messages", msg, alice...)                        // 502
	up.Set(subB, fakeanthropic.Quota429(now(), now().Add(2*time.Hour)))    // sub-a is limited: alice is on sub-b
	up.Set(fallback, fakeanthropic.Overloaded529())                        // and fails over to the fallback
	send(ps.URL, "/v1/messages", msg, alice...)                            // 429 then 529
	up.Set(fallback, fakeanthropic.Unauthorized401())                      // a refused credential
	send(ps.URL, "/v1/messages", stream, append(bob, "X-Claude-Code-Session-Id", "s-1")...)
	send(ps.URL, "/v1/messages", msg, bob...) // the last of bob's burst of 3
	if status, answer := send(ps.URL, "/v1/messages", msg, bob...); status != http.StatusTooManyRequests ||
		!strings.Contains(answer, "too many requests") {
		t.Errorf("bob over his rate: %d %s; want the proxy's 429 saying too many requests", status, answer)
	}
	up.SetDefault(fakeanthropic.Response{StreamError: &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded"}})
	advance(2 * time.Hour) // sub-a and sub-b back
	send(ps.URL, "/v1/messages", stream, alice...)
	// The upstream hears the subscriptions' credentials, never a caller's key.
	for _, r := range up.Requests() {
		said.add("upstream request", "%v\n%s", r.Header, r.Body)
		for _, k := range []string{keyAlice, keyBob, strayKey} {
			tail := k[strings.Index(k, "7f3a9c-")+len("7f3a9c-"):] // its own part: the rest it shares with the credentials
			if leak, ok := leaks(fmt.Sprintf("%v %s", r.Header, r.Body), tail); ok {
				t.Errorf("a caller's key (%q of it) reached the upstream", leak)
			}
		}
	}
	for _, want := range []int{200, 401, 404, 413, 502, 529} {
		if !statuses[want] {
			t.Errorf("no proxy response had status %d (got %v)", want, statuses)
		}
	}

	// --- Exhaustion: every subscription out, the fallback spent.
	for _, id := range []string{"sub-a", "sub-b"} {
		said.err("Disable", p.Disable(ctx, id, "by hand after a 401 naming "+fallback+" and "+subB[:20]))
	}
	said.err("Enable (fallback)", p.Enable(ctx, authpool.FallbackID))
	a, err = p.Allocate(ctx, "dev-2")
	said.err("Allocate (fallback)", err)
	said.values("Allocation (fallback)", a)
	use("dev-2", 1, "msg_2")
	_, err = p.Allocate(ctx, "dev-3")
	if !errors.Is(err, authpool.ErrExhausted) {
		t.Errorf("Allocate(dev-3): %v; want ErrExhausted", err)
	}
	said.err("Allocate (exhausted)", err)
	send(ps.URL, "/v1/messages", msg, "x-api-key", keyAlice) // the pool's own 429

	// --- Credential refreshes: sub-a's succeeds, sub-b's fails four times
	// (twice with an error naming the tokens; see refresher).
	refreshAll(ctx, t, &said, p, advance)

	// --- Reasons that quote secrets, as an upstream that echoes one
	// makes them: a throttle and a model limit. (Callers' keys are the
	// proxy's, which takes them out before it tells the pool: see
	// TestEchoedSecretsLeakNowhere.)
	_, err = p.Throttled(ctx, "sub-b", time.Second, "429 for "+subB+" (fallback "+fallback+", hook "+whSecret+")")
	said.err("Throttled", err)
	said.err("MarkModelLimited", p.MarkModelLimited(ctx, "sub-a", "opus", now().Add(time.Hour), "7d_opus for "+subANew))

	// --- Snapshot, as JSON and printed; /metrics and the status page.
	snap, err := p.Snapshot(ctx)
	said.err("Snapshot", err)
	said.values("Snapshot", snap)
	for _, s := range snap.Subscriptions {
		said.values("SubscriptionStatus", s)
	}
	scrapeAll(ctx, t, &said, p, logger, false)

	// --- Close: the queued events delivered; then ErrClosed.
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	said.err("Close", p.Close(closeCtx))
	_, err = p.Allocate(ctx, "dev-1")
	said.err("Allocate (closed)", err)
	said.err("Close (again)", p.Close(ctx))
	scrapeAll(ctx, t, &said, p, logger, true)
	close(events)
	seen := map[authpool.EventType]bool{}
	for e := range events {
		seen[e.Type] = true
	}
	for _, want := range []authpool.EventType{authpool.EventThreshold, authpool.EventFailover, authpool.EventLimited, authpool.EventDisabled, authpool.EventExhausted,
		authpool.EventRefreshFailed} {
		if !seen[want] {
			t.Errorf("no %s event (saw %v)", want, seen)
		}
	}
	said.add("pool log", "%s", poolLog.String())
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		// As a host would print them in a log line, after they served.
		said.add("printed "+verb, verb+"\n"+verb, px, tr)
	}
	for _, verb := range printVerbs {
		// The pool's own, with every verb; and the values they point to (a
		// Pool or a WebhookNotifier copied, or printed as *p).
		said.add("printed "+verb, strings.Repeat(verb+"\n", 8), p, cfg, wn, valueOf(p), valueOf(wn),
			hooks[0], &hooks[0], file)
	}
	if hookURLRight.Load() == 0 || hookURLWrong.Load() != 0 {
		t.Errorf("the webhook was called %d times at its URL, %d elsewhere; want it called at its URL only",
			hookURLRight.Load(), hookURLWrong.Load())
	}
	if !strings.Contains(poolLog.String(), `"msg":"authpool proxy: upstream unreachable"`) {
		t.Error("the pool's log has no upstream-unreachable line: the proxy's log was not captured")
	}
	if !strings.Contains(poolLog.String(), `"msg":"authpool: event"`) || !strings.Contains(poolLog.String(), `"type":"threshold"`) {
		t.Error("the log notifier logged no threshold event")
	}
	// The failed refreshes said why, their tokens redacted, in the pool's
	// log (its own line, and the log notifier's event).
	for name, log := range map[string]string{"the pool's log": poolLog.String()} {
		if !strings.Contains(log, "could not keep the refresh token") || !strings.Contains(log, "[REDACTED]") {
			t.Errorf("%s has no failed refresh with its tokens redacted", name)
		}
	}

	// --- Nothing said holds a secret, or 12 bytes of one.
	said.mu.Lock()
	defer said.mu.Unlock()
	var webhooks, refreshHooks int
	for _, pt := range said.parts {
		if pt.where == "webhook request" {
			webhooks++
			if strings.Contains(pt.text, string(authpool.EventRefreshFailed)) {
				refreshHooks++
			}
		}
		if pt.where == "upstream request" {
			continue // where the subscriptions' credentials belong: checked above for callers' keys
		}
		for _, s := range secrets {
			if leak, ok := leaks(pt.text, s); ok {
				t.Errorf("%s shows %q of a secret:\n%s", pt.where, leak, excerpt(pt.text, leak))
			}
		}
	}
	if webhooks == 0 || refreshHooks == 0 {
		t.Errorf("the webhook received %d requests, %d of them of a failed refresh; want some of each", webhooks, refreshHooks)
	}
	t.Logf("%d texts checked, %d of them webhook requests", len(said.parts), webhooks)
}

// printVerbs are the fmt verbs a host might print a value with.
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}

// valueOf returns what ptr points to, as an any: what fmt gets from
// fmt.Printf("%v", *ptr) (which go vet refuses for a Pool, which holds
// locks).
func valueOf(ptr any) any { return reflect.ValueOf(ptr).Elem().Interface() }

// TestPoolPrintedShowsNoSecret prints a *Pool and a Pool (as
// fmt.Printf("%v", *pool) would) with fmt, and a Config and its webhook,
// whose URL holds tokens, with every verb, as a host's log line would.
func TestPoolPrintedShowsNoSecret(t *testing.T) {
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{{ID: "sub-a", Kind: authpool.KindPro, Credential: subA}},
		Fallback:      &authpool.Fallback{Credential: fallback, DailyBudgetUSD: 1},
	}
	hooks := []webhook.Config{{URL: "https://hooks.example.com/" +
		hookPath + "?token=" + hookQuery + "#" + hookQuery, Secret: whSecret}}
	wn, err := webhook.New(hooks[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authpool.New(context.Background(), cfg, authpool.WithNotifier(wn))
	if err != nil {
		t.Fatal(err)
	}
	// webhook.New refuses user information in a URL; printed, it is
	// redacted too.
	hooks = append(hooks, webhook.Config{
		URL: "https://user:" + whSecret + "@hooks.example.com/x?" + hookQuery, Secret: whSecret})
	file := configfile.File{Config: cfg, Webhooks: hooks}
	defer func() { _ = p.Close(context.Background()) }()
	check := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			if leak, ok := leaks(text, s); ok {
				t.Errorf("%s shows %q of a secret:\n%s", what, leak, excerpt(text, leak))
			}
		}
	}
	for _, verb := range printVerbs {
		text := fmt.Sprintf(verb, p)
		if verb != "%x" && verb != "%X" && !strings.Contains(text, "subscriptions: 1") {
			t.Errorf("%s of a *Pool = %q, want its summary", verb, text)
		}
		check(verb+" of a *Pool", text)
		check(verb+" of a Pool", fmt.Sprintf(verb, valueOf(p)))
		check(verb+" of a Config", fmt.Sprintf(verb, cfg))
		check(verb+" of a *Config", fmt.Sprintf(verb, &cfg))
		check(verb+" of a webhook.Config", fmt.Sprintf(verb, hooks[0]))
		check(verb+" of a []webhook.Config", fmt.Sprintf(verb, hooks))
		check(verb+" of a configfile.File", fmt.Sprintf(verb, file))
	}
	for what, v := range map[string]any{"Config": cfg, "webhook.Config": hooks[0], "configfile.File": file} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		check(what+" as JSON", string(b))
		var log bytes.Buffer
		slog.New(slog.NewTextHandler(&log, nil)).Info("config", "value", v)
		slog.New(slog.NewJSONHandler(&log, nil)).Info("config", "value", v)
		check(what+" in a slog line", log.String())
	}
	if got := fmt.Sprint(hooks); !strings.Contains(got, "{https://hooks.example.com/[REDACTED] [REDACTED]") ||
		!strings.Contains(got, "{https://[REDACTED]@hooks.example.com/[REDACTED] [REDACTED]") {
		t.Errorf("a webhook.Config prints as %s, want its URL's scheme and host, the rest redacted", got)
	}
}
