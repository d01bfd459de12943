package redaction_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/webhook"
)

// TestEchoedSecretsLeakNowhere runs a proxy on a pool kept in Redis (its
// credentials sealed) in front of an upstream whose every error echoes the
// credential it was sent and both callers' keys: sub-a answers a quota 429,
// sub-b a 529, the fallback a 401. A request fails over through all three.
// Nothing the library says afterwards — the caller's answers, the pool's
// log and the log notifier's, the events and the webhook's payloads, the
// Snapshot, the status page (HTML and JSON), the metrics, every Redis key
// and value — holds a secret, or 12 bytes of one; what the upstream said
// is there, redacted.
func TestEchoedSecretsLeakNowhere(t *testing.T) {
	ctx := context.Background()
	var said transcript
	now := func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) }
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		said.add("webhook request", "%s %s\n%v\n%s", r.Method, r.URL, r.Header, body)
	}))
	defer hook.Close()

	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	key := sha256.Sum256([]byte("redaction echo test"))
	keyring, err := seal.NewKeyring(seal.Key{ID: "k1", Bytes: key[:]})
	if err != nil {
		t.Fatal(err)
	}
	callers := []proxy.Caller{{ID: "alice", Key: keyAlice}, {ID: "bob", Key: keyBob}}
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "sub-a", Kind: authpool.KindMax20x, Credential: subA, WeeklyBudgetUSD: 1000, BlockBudgetUSD: 10},
			{ID: "sub-b", Kind: authpool.KindMax5x, Credential: subB, WeeklyBudgetUSD: 250, BlockBudgetUSD: 5},
		},
		Fallback: &authpool.Fallback{Credential: fallback, DailyBudgetUSD: 1},
		Notify:   authpool.NotifyConfig{Log: &authpool.LogNotifyConfig{}}, // every event into the pool's log
	}
	wn, err := webhook.New(webhook.Config{URL: hook.URL, Secret: whSecret, MaxAttempts: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var poolLog syncBuffer
	logger := slog.New(slog.NewJSONHandler(&poolLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events []authpool.EventType
	tap := authpool.NotifierFunc(func(ctx context.Context, e authpool.Event) error {
		said.values("Event", e)
		events = append(events, e.Type)
		return nil
	})
	p, err := authpool.New(ctx, cfg, authpool.WithClock(now), authpool.WithLogger(logger), authpool.WithNotifier(tap),
		authpool.WithNotifier(wn),
		authpool.WithStore(redisstore.New(rdb, redisstore.WithPrefix(prefix))), authpool.WithSealer(keyring))
	if err != nil {
		t.Fatal(err)
	}

	// The upstream echoes what it was sent, and the callers' keys.
	up := &fakeanthropic.Server{}
	up.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
		echo := fmt.Sprintf("invalid x-api-key %s; callers %s and %s", r.Credential(), keyAlice, keyBob)
		switch r.Credential() {
		case subA:
			resp := fakeanthropic.Quota429(now(), now().Add(2*time.Hour))
			resp.Error.Message = echo
			return resp
		case subB:
			return fakeanthropic.Response{Status: 529, Error: &fakeanthropic.Error{Type: "overloaded_error", Message: echo}}
		default:
			resp := fakeanthropic.Unauthorized401()
			resp.Error.Message = echo
			return resp
		}
	})
	ts := httptest.NewServer(up)
	defer ts.Close()
	px, err := proxy.New(&proxy.Transport{Pool: p, Base: ts.Client().Transport, Clock: now, Logger: logger}, callers, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	px.Logger = logger
	ps := httptest.NewServer(px)
	defer ps.Close()
	msg := `{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	var answers []string
	for _, key := range []string{keyAlice, keyBob} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ps.URL+"/v1/messages", strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Api-Key", key)
		resp, err := ps.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		said.add("proxy response", "%s\n%v\n%s", resp.Status, resp.Header, b)
		answers = append(answers, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	// alice's request went to sub-a (429), sub-b (529) and the fallback
	// (401), whose answer she got; bob found the pool spent.
	if len(answers) != 2 || !strings.HasPrefix(answers[0], `401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key [REDACTED]; callers [REDACTED] and [REDACTED]"}`) ||
		!strings.HasPrefix(answers[1], "429 ") {
		t.Errorf("the callers' answers:\n%s", strings.Join(answers, "\n"))
	}

	snap, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	said.values("Snapshot", snap)
	reasons := map[string]string{}
	for _, s := range append(snap.Subscriptions, *snap.Fallback) {
		reasons[s.ID] = s.Status.Reason
	}
	for id, want := range map[string]string{
		"sub-a":             "quota: HTTP 429 5h rate_limit_error: invalid x-api-key [REDACTED]; callers [REDACTED] and [REDACTED]",
		"sub-b":             "overloaded: HTTP 529 overloaded_error: invalid x-api-key [REDACTED]; callers [REDACTED] and [REDACTED]",
		authpool.FallbackID: "auth: HTTP 401 authentication_error: invalid x-api-key [REDACTED]; callers [REDACTED] and [REDACTED]",
	} {
		if reasons[id] != want {
			t.Errorf("%s's reason %q; want %q", id, reasons[id], want)
		}
	}
	scrapeAll(ctx, t, &said, p, logger, false)
	scanRedis(ctx, t, &said, rdb, prefix)
	closing, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	said.err("Close", p.Close(closing)) // the webhook's payloads delivered
	said.add("pool log", "%s", poolLog.String())

	said.mu.Lock()
	defer said.mu.Unlock()
	var webhooks, redacted int
	for _, pt := range said.parts {
		if pt.where == "webhook request" {
			webhooks++
		}
		if strings.Contains(pt.text, "[REDACTED]") {
			redacted++
		}
		for _, s := range secrets {
			if leak, ok := leaks(pt.text, s); ok {
				t.Errorf("%s shows %q of a secret:\n%s", pt.where, leak, excerpt(pt.text, leak))
			}
		}
	}
	if webhooks == 0 || redacted == 0 || len(events) == 0 {
		t.Errorf("%d webhook payloads, %d events, %d texts with the upstream's redacted words; want some of each", webhooks, len(events), redacted)
	}
	t.Logf("%d texts checked: %d webhook payloads, %d events %v, %d with the upstream's words redacted", len(said.parts), webhooks, len(events), events, redacted)
}

// scanRedis adds every key under the pool's prefix, and its value, to said.
func scanRedis(ctx context.Context, t *testing.T, said *transcript, rdb *redis.Client, prefix string) {
	t.Helper()
	n := 0
	iter := rdb.Scan(ctx, 0, "{"+prefix+"}:*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		n++
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var value any
		switch typ {
		case "string":
			value, err = rdb.Get(ctx, key).Result()
		case "hash":
			value, err = rdb.HGetAll(ctx, key).Result()
		case "set":
			value, err = rdb.SMembers(ctx, key).Result()
		case "zset":
			value, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		case "list":
			value, err = rdb.LRange(ctx, key, 0, -1).Result()
		case "none": // expired meanwhile
		default:
			t.Errorf("Redis key %s has type %s, which this test does not read", key, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(value)
		said.add("Redis key", "%s (%s) = %s", key, typ, b)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("Redis holds %d keys of the pool; want its subscriptions, sessions and usage", n)
	}
}
