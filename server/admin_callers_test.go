package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// addCaller adds a caller through the admin API and returns its key.
func addCaller(t *testing.T, h *harness, body string) string {
	t.Helper()
	resp, b := h.do(t, http.MethodPost, "/admin/v1/callers", adminTok, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /admin/v1/callers %s: %d %s", body, resp.StatusCode, b)
	}
	var got struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &got); err != nil || !strings.HasPrefix(got.Key, proxy.CallerKeyPrefix) {
		t.Fatalf("POST answered %s (%v), want a key %s...", b, err, proxy.CallerKeyPrefix)
	}
	return got.Key
}

// bearerSDK returns an SDK client that sends key as Authorization: Bearer.
func bearerSDK(h *harness, key string) anthropic.Client {
	return anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(h.url), option.WithAuthToken(key),
		option.WithMaxRetries(0), option.WithHeader("X-Claude-Code-Session-Id", "s-ci"))
}

// message sends one message with c, and returns the SDK's error.
func message(t *testing.T, c anthropic.Client) error {
	t.Helper()
	_, err := c.Messages.New(t.Context(), sdkParams)
	return err
}

// TestAdminCallers walks the admin API through a stored caller's life:
// add (the key shown once, only its hash kept), list, read, send requests
// with the key, read its usage, change its cap, remove it. No answer but
// the first, nor the log, shows the key; every change is in the log.
func TestAdminCallers(t *testing.T) {
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st}})
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		resp, b := h.do(t, method, "/admin/v1/callers"+path, adminTok, body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		var m map[string]any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s %s: %s is not JSON: %v", method, path, b, err)
			}
		}
		return m
	}
	resp, b := h.do(t, http.MethodPost, "/admin/v1/callers", adminTok,
		`{"id": "ci", "capUSD": 20, "capWindow": "5h", "rate": {"perSecond": 2, "burst": 5}, "sessionless": "spread"}`)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/admin/v1/callers/ci" {
		t.Fatalf("POST: %d %s, Location %q", resp.StatusCode, b, resp.Header.Get("Location"))
	}
	var added struct {
		Caller map[string]any `json:"caller"`
		Key    string         `json:"key"`
	}
	if err := json.Unmarshal(b, &added); err != nil {
		t.Fatal(err)
	}
	created := testNow.Format(time.RFC3339)
	want := map[string]any{"id": "ci", "capUSD": 20.0, "capWindow": "5h0m0s", "rate": map[string]any{"perSecond": 2.0, "burst": 5.0},
		"sessionless": "spread", "created": created}
	if diff := cmp.Diff(want, added.Caller); diff != "" {
		t.Errorf("POST's caller (-want +got):\n%s", diff)
	}
	key := added.Key
	if len(key) != 47 || !strings.HasPrefix(key, "apk-") {
		t.Fatalf("the key %q is not an apk- key of 47 bytes", key)
	}
	rec, err := st.CallerByKey(t.Context(), proxy.HashCallerKey(key))
	if err != nil || rec.ID != "ci" || rec.Cap != 20e9 || rec.CapWindowHours != 5 || rec.RateBurst != 5 {
		t.Fatalf("the store holds %+v, %v; want ci by its key's hash", rec, err)
	}
	call(http.MethodPost, "", `{"id": "uncapped"}`, 201)
	list := call(http.MethodGet, "", "", 200)
	wantList := map[string]any{"callers": []any{want, map[string]any{"id": "uncapped", "capUSD": 0.0, "capWindow": "5h0m0s",
		"sessionless": "sticky", "created": created}}}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, call(http.MethodGet, "/ci", "", 200)); diff != "" {
		t.Errorf("GET ci (-want +got):\n%s", diff)
	}

	// The key opens the proxy, as a bearer token (Claude Code's
	// CLAUDE_CODE_OAUTH_TOKEN) or an x-api-key; the usage is charged.
	if err := message(t, bearerSDK(h, key)); err != nil {
		t.Fatalf("a request with the caller's key as a bearer token: %v", err)
	}
	if err := message(t, sdk(h, key, "")); err != nil {
		t.Fatalf("a request with the caller's key as x-api-key: %v", err)
	}
	for _, r := range h.up.Requests() {
		if r.Credential() == key {
			t.Errorf("the upstream was sent the caller's key")
		}
	}
	usage := call(http.MethodGet, "/ci/usage", "", 200)
	windows := usage["windows"].([]any)
	if usage["id"] != "ci" || usage["cap"].(map[string]any)["usd"] != 20.0 || len(windows) != 4 ||
		windows[0].(map[string]any)["requests"] != 2.0 || usage["sessionCount"] != 2.0 {
		t.Errorf("the usage report: %v; want ci's two requests in two sessions under a $20 cap", usage)
	}
	waitFor(t, "the request lines", func() bool { return len(h.logs.lines(t, "request")) >= 2 })
	for _, l := range h.logs.lines(t, "request") {
		if l["caller"] != "ci" {
			t.Errorf("a request line names caller %v, want ci", l["caller"])
		}
	}

	got := call(http.MethodPatch, "/ci", `{"capUSD": 5, "rate": {}}`, 200)
	want["capUSD"], want["largestChargeUSD"] = 5.0, got["largestChargeUSD"]
	delete(want, "rate")
	if diff := cmp.Diff(want, got); diff != "" || got["largestChargeUSD"].(float64) <= 0 {
		t.Errorf("PATCH (-want +got):\n%s", diff)
	}
	if rec, _ := st.Caller(t.Context(), "ci"); rec.KeyHash != proxy.HashCallerKey(key) || rec.RatePerSecond != 0 {
		t.Errorf("after PATCH the store holds %+v: the key's hash must stay, the rate go", rec)
	}
	call(http.MethodDelete, "/ci", "", 204)
	call(http.MethodGet, "/ci", "", 404)
	call(http.MethodGet, "/ci/usage", "", 404)
	if _, err := st.CallerByKey(t.Context(), proxy.HashCallerKey(key)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after DELETE the key's hash is still kept: %v", err)
	}

	var audit []string
	for _, l := range h.logs.lines(t, "") {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "admin: ") {
			audit = append(audit, msg+" "+l["caller"].(string))
		}
	}
	wantAudit := []string{"admin: caller added ci", "admin: caller added uncapped", "admin: caller updated ci", "admin: caller removed ci"}
	if diff := cmp.Diff(wantAudit, audit); diff != "" {
		t.Errorf("the audit log (-want +got):\n%s", diff)
	}
	if strings.Contains(h.logs.String(), key) || strings.Contains(h.logs.String(), key[4:20]) {
		t.Errorf("the log shows the caller's key")
	}
}

// TestStoredCallerCap: a stored caller's cap holds through the server's
// proxy (in the store), and a config file's caller still works beside it.
func TestStoredCallerCap(t *testing.T) {
	h := start(t, setup{})
	key := addCaller(t, h, `{"id": "tiny", "capUSD": 0.000001}`)
	client := bearerSDK(h, key)
	if err := message(t, client); err != nil {
		t.Fatalf("the first request, under the cap: %v", err)
	}
	err := message(t, client)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the second request, the cap spent: %v; want a 429", err)
	}
	if err := message(t, sdk(h, keyBob, "")); err != nil {
		t.Errorf("the config file's caller bob: %v", err)
	}
	_, b := h.do(t, http.MethodGet, "/admin/v1/callers/tiny/usage", adminTok, "")
	var rep struct {
		Cap      struct{ Share float64 }
		Refusals map[string]int64
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Cap.Share < 1 || rep.Refusals["capped"] != 1 {
		t.Errorf("the usage report: %s; want the cap spent and one refusal, capped", b)
	}
}

// TestClaudeCodeWithCallerKey: Claude Code run with
// CLAUDE_CODE_OAUTH_TOKEN=<a stored caller's key> (the fake CLI, which
// sends it as Authorization: Bearer with the OAuth beta) is served through
// the server, the upstream getting the subscription's credential.
func TestClaudeCodeWithCallerKey(t *testing.T) {
	h := start(t, setup{})
	key := addCaller(t, h, `{"id": "laptop", "capUSD": 10}`)
	cli := &fakeanthropic.CLI{BaseURL: h.url, Auth: fakeanthropic.AuthOAuth, Key: key}
	turn, err := cli.Session().Turn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if turn.Status != 200 || turn.Shown != fakeanthropic.DefaultText {
		t.Fatalf("the turn: %d %q; want 200 and the answer", turn.Status, turn.Shown)
	}
	if turn.RateLimit == nil {
		t.Errorf("Claude Code read no rate-limit standing: the capped caller's should be in the answer")
	}
	reqs := h.up.Requests()
	if len(reqs) != 1 || reqs[0].Credential() == key || reqs[0].Credential() == "" {
		t.Errorf("the upstream got %d requests; want one, with a subscription's credential", len(reqs))
	}
	waitFor(t, "the request line", func() bool { return len(h.logs.lines(t, "request")) == 1 })
	if l := h.logs.lines(t, "request")[0]; l["caller"] != "laptop" || l["status"] != 200.0 {
		t.Errorf("the request line: %v", l)
	}
}

// TestCallersAcrossServers: a caller added on one server is known at once
// by another on the same store, which charges it there too.
func TestCallersAcrossServers(t *testing.T) {
	ts := newTwoServers(t, nil)
	key := addCaller(t, ts.a, `{"id": "shared", "capUSD": 50}`)
	if err := message(t, bearerSDK(ts.b, key)); err != nil {
		t.Fatalf("server b, with a caller added on a: %v", err)
	}
	_, b := ts.a.do(t, http.MethodGet, "/admin/v1/callers/shared/usage", adminTok, "")
	if !strings.Contains(string(b), `"requests":1`) {
		t.Errorf("server a's usage report of the request b served: %s", b)
	}
}

// TestStatusAndMetricsShowCallers: the status page (HTML and JSON) and the
// metrics show the store's callers.
func TestStatusAndMetricsShowCallers(t *testing.T) {
	h := start(t, setup{})
	key := addCaller(t, h, `{"id": "ci", "capUSD": 20}`)
	if err := message(t, bearerSDK(h, key)); err != nil {
		t.Fatal(err)
	}
	_, js := h.do(t, http.MethodGet, "/status?format=json", statusTok, "")
	var status struct {
		Callers []struct {
			ID  string `json:"id"`
			Cap struct {
				USD float64 `json:"usd"`
			} `json:"cap"`
		} `json:"callers"`
	}
	if err := json.Unmarshal(js, &status); err != nil || len(status.Callers) != 1 || status.Callers[0].ID != "ci" || status.Callers[0].Cap.USD != 20 {
		t.Errorf("the status JSON's callers: %+v (%v)", status.Callers, err)
	}
	_, page := h.do(t, http.MethodGet, "/status", statusTok, "")
	if !strings.Contains(string(page), ">ci<") {
		t.Errorf("the status page does not list caller ci")
	}
	_, m := h.do(t, http.MethodGet, "/metrics", statusTok, "")
	for _, want := range []string{`authpool_caller_cost_usd{caller="ci",window="week"}`, `authpool_caller_requests{caller="ci",window="5h"} 1`,
		`authpool_caller_cap_usd{caller="ci"} 20`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	for _, body := range [][]byte{js, page, m} {
		if strings.Contains(string(body), key) {
			t.Errorf("the status or the metrics show the caller's key")
		}
	}
}

// plainStore is a store that keeps no callers.
type plainStore struct{ store.Store }

// TestCallersNeedACallerStore: a server on a store that keeps no callers
// answers the caller endpoints 501, and serves the rest.
func TestCallersNeedACallerStore(t *testing.T) {
	h := start(t, setup{opts: Options{Store: plainStore{memstore.New()}}})
	for _, path := range []string{"/admin/v1/callers", "/admin/v1/callers/ci", "/admin/v1/callers/ci/usage"} {
		resp, b := h.do(t, http.MethodGet, path, adminTok, "")
		if e := errorOf(t, b); resp.StatusCode != http.StatusNotImplemented || !strings.Contains(e.Error.Message, "keeps no callers") {
			t.Errorf("GET %s: %d %s; want 501", path, resp.StatusCode, b)
		}
	}
	if err := message(t, sdk(h, keyAlice, "")); err != nil {
		t.Errorf("the config file's caller: %v", err)
	}
	if _, js := h.do(t, http.MethodGet, "/status?format=json", statusTok, ""); strings.Contains(string(js), `"callers"`) {
		t.Errorf("the status JSON has callers without a caller store")
	}
}

// callerStoreOf finds the stores that keep callers, through seal.Store.
func TestCallerStoreOf(t *testing.T) {
	ring, err := seal.NewKeyring(seal.Key{ID: "k1", Bytes: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		st   store.Store
		want bool
	}{
		{"memstore", memstore.New(), true},
		{"sealed memstore", seal.NewStore(memstore.New(), ring), true},
		{"a store without callers", plainStore{memstore.New()}, false},
		{"a sealed store without callers", seal.NewStore(plainStore{memstore.New()}, ring), false},
	} {
		if _, got := callerStoreOf(tc.st); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// racingStore is a store in which another admin's PATCH lands between the
// server's read of a caller and its write: the first read of a caller sets
// its sessionless mode to spread.
type racingStore struct {
	*memstore.Store
	raced atomic.Bool
}

func (s *racingStore) Caller(ctx context.Context, id string) (store.Caller, error) {
	c, err := s.Store.Caller(ctx, id)
	if err == nil && s.raced.CompareAndSwap(false, true) {
		spread := store.SessionlessSpread
		err = s.Store.UpdateCaller(ctx, id, store.CallerUpdate{Sessionless: &spread})
	}
	return c, err
}

// TestAdminPatchCallerKeepsOthersChanges: a PATCH changes only the settings
// it gives, so a change another PATCH made meanwhile stays.
func TestAdminPatchCallerKeepsOthersChanges(t *testing.T) {
	st := &racingStore{Store: memstore.New()}
	h := start(t, setup{opts: Options{Store: st}})
	addCaller(t, h, `{"id": "ci", "capUSD": 20, "sessionless": "sticky"}`)
	st.raced.Store(false)
	resp, b := h.do(t, http.MethodPatch, "/admin/v1/callers/ci", adminTok, `{"capUSD": 30}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, b)
	}
	got, err := st.Store.Caller(t.Context(), "ci")
	if err != nil {
		t.Fatal(err)
	}
	if got.Cap != 30e9 || got.Sessionless != store.SessionlessSpread {
		t.Errorf("after a PATCH of capUSD raced by one of sessionless: cap %v, sessionless %q; want $30 and %q",
			got.Cap, got.Sessionless, store.SessionlessSpread)
	}
}
