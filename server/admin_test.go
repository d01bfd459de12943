package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// newCred is a credential the admin tests give; it must never come back.
const newCred = "sk-ant-oat01-admin-new-0123456789abcdef"

// TestAdminSubscriptions walks the admin API through a subscription's
// life: add, read, change, disable, enable, log in, remove. Every answer
// shows the credentials redacted, and every change is in the log.
func TestAdminSubscriptions(t *testing.T) {
	h := start(t, setup{})
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		resp, b := h.do(t, method, "/admin/v1/subscriptions"+path, adminTok, body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		for _, secret := range append(testSecrets, newCred, "sk-ant-ort01-admin") {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s %s shows the secret %q: %s", method, path, secret, b)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %s is not JSON: %v", method, path, b, err)
		}
		return m
	}
	list := call(http.MethodGet, "", "", 200)["subscriptions"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["credential"] != "[REDACTED]" {
		t.Fatalf("the list: %v, want max-a and api-b with credentials redacted", list)
	}
	got := call(http.MethodPost, "", `{"id": "pro-c", "name": "Pro C", "kind": "pro", "credential": "`+newCred+`",
		"refreshToken": "sk-ant-ort01-admin-0123456789", "credentialExpiresAt": "2026-12-07T18:00:00Z", "weeklyBudgetUSD": 60}`, 201)
	want := map[string]any{"id": "pro-c", "name": "Pro C", "kind": "pro", "credential": "[REDACTED]", "refreshToken": "[REDACTED]",
		"credentialExpiresAt": "2026-12-07T18:00:00Z", "maxClients": 15.0, "weeklyBudgetUSD": 60.0, "status": map[string]any{"state": "active"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST: (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, call(http.MethodGet, "/pro-c", "", 200)); diff != "" {
		t.Errorf("GET: (-want +got):\n%s", diff)
	}
	got = call(http.MethodPatch, "/pro-c", `{"maxClients": 4, "blockBudgetUSD": 9.5}`, 200)
	if got["maxClients"] != 4.0 || got["blockBudgetUSD"] != 9.5 || got["weeklyBudgetUSD"] != 60.0 || got["name"] != "Pro C" {
		t.Errorf("PATCH changed what it should not, or not what it should: %v", got)
	}
	got = call(http.MethodPost, "/pro-c/disable", `{"reason": "paused for the night"}`, 200)
	if st := got["status"].(map[string]any); st["state"] != "disabled" || st["reason"] != "paused for the night" {
		t.Errorf("disable: status %v", st)
	}
	if st := call(http.MethodPost, "/pro-c/enable", "", 200)["status"].(map[string]any); st["state"] != "active" {
		t.Errorf("enable: status %v", st)
	}
	got = call(http.MethodPut, "/pro-c/credential", `{"access": "sk-ant-oat01-admin-login-0123456789", "refresh": "sk-ant-ort01-admin-login-0123", "expiresAt": "2026-12-08T02:00:00Z"}`, 200)
	if got["credentialExpiresAt"] != "2026-12-08T02:00:00Z" {
		t.Errorf("credential: %v", got)
	}
	subs, err := h.srv.Pool().Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.ID == "pro-c" && (s.Credential != "sk-ant-oat01-admin-login-0123456789" || s.RefreshToken != "sk-ant-ort01-admin-login-0123") {
			t.Errorf("the pool holds another credential or refresh token than the login's")
		}
	}
	got = call(http.MethodDelete, "/pro-c", "", 200)
	if diff := cmp.Diff(map[string]any{"removed": "pro-c", "released": []any{}}, got); diff != "" {
		t.Errorf("DELETE (-want +got):\n%s", diff)
	}
	call(http.MethodGet, "/pro-c", "", 404)
	var audit []string
	for _, l := range h.logs.lines(t, "") {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "admin: ") {
			audit = append(audit, msg+" "+l["subscription"].(string))
		}
	}
	wantAudit := []string{"admin: subscription added pro-c", "admin: subscription updated pro-c", "admin: subscription disabled pro-c",
		"admin: subscription enabled pro-c", "admin: subscription logged in pro-c", "admin: subscription removed pro-c"}
	if diff := cmp.Diff(wantAudit, audit); diff != "" {
		t.Errorf("the audit log (-want +got):\n%s", diff)
	}
}

// TestAdminBadInput sends bad input to every admin endpoint: each gets a
// 4xx in the one error shape, naming the field when a field is at fault,
// never quoting a credential, and the store is as it was.
func TestAdminBadInput(t *testing.T) {
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st}})
	sub := func(extra string) string {
		return `{"id": "new-1", "kind": "pro", "credential": "` + newCred + `"` + extra + `}`
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"add: no body", "POST", "", "", 400, ""},
		{"add: not an object", "POST", "", `[1]`, 400, ""},
		{"add: broken JSON", "POST", "", `{"id": `, 400, ""},
		{"add: trailing data", "POST", "", sub("") + `{}`, 400, ""},
		{"add: a string for a number", "POST", "", sub(`, "weeklyBudgetUSD": "lots"`), 400, "/weeklyBudgetUSD"},
		{"add: an unknown field", "POST", "", sub(`, "colour": "red"`), 400, "/colour"},
		{"add: a field in another case", "POST", "", sub(`, "weeklyBudgetUsd": 5`), 400, "/weeklyBudgetUsd"},
		{"add: a status field in another case", "POST", "", sub(`, "status": {"State": "active"}`), 400, "/status/State"},
		{"add: an unknown kind", "POST", "", `{"id": "new-1", "kind": "team", "credential": "` + newCred + `"}`, 400, "/kind"},
		{"add: no credential", "POST", "", `{"id": "new-1", "kind": "pro"}`, 400, "/credential"},
		{"add: a credential with a line break", "POST", "", `{"id": "new-1", "kind": "pro", "credential": "` + newCred + `\n"}`, 400, "/credential"},
		{"add: a bad id", "POST", "", `{"id": "new 1!", "kind": "pro", "credential": "` + newCred + `"}`, 400, "/id"},
		{"add: the fallback's id", "POST", "", `{"id": "fallback", "kind": "pro", "credential": "` + newCred + `"}`, 400, "/id"},
		{"add: a taken id", "POST", "", `{"id": "max-a", "kind": "pro", "credential": "` + newCred + `"}`, 409, "/id"},
		{"add: a bad time", "POST", "", sub(`, "credentialExpiresAt": "tomorrow"`), 400, "/credentialExpiresAt"},
		{"add: a negative budget", "POST", "", sub(`, "weeklyBudgetUSD": -1`), 400, "/weeklyBudgetUSD"},
		{"add: limited without until", "POST", "", sub(`, "status": {"state": "limited"}`), 400, "/status/until"},
		{"add: an unknown status field", "POST", "", sub(`, "status": {"state": "active", "mood": "fine"}`), 400, "/status"},
		{"add: too large", "POST", "", sub(`, "name": "` + strings.Repeat("a", maxBody) + `"`), 413, ""},
		{"list: wrong method", "PUT", "", sub(""), 405, ""},
		{"update: nothing set", "PATCH", "/max-a", `{}`, 400, ""},
		{"update: a negative max", "PATCH", "/max-a", `{"maxClients": -1}`, 400, "/maxClients"},
		{"update: a string max", "PATCH", "/max-a", `{"maxClients": "ten"}`, 400, "/maxClients"},
		{"update: a fractional max", "PATCH", "/max-a", `{"maxClients": 1.5}`, 400, "/maxClients"},
		{"update: a huge budget", "PATCH", "/max-a", `{"weeklyBudgetUSD": 2e6}`, 400, "/weeklyBudgetUSD"},
		{"update: a typo", "PATCH", "/max-a", `{"nmae": "A"}`, 400, "/nmae"},
		{"update: an unknown kind", "PATCH", "/max-a", `{"kind": "team"}`, 400, "/kind"},
		{"update: an empty credential", "PATCH", "/max-a", `{"credential": ""}`, 400, "/credential"},
		{"update: an unknown subscription", "PATCH", "/nope", `{"maxClients": 1}`, 404, ""},
		{"update: the fallback", "PATCH", "/fallback", `{"maxClients": 1}`, 400, ""},
		{"one: wrong method", "POST", "/max-a", `{}`, 405, ""},
		{"remove: unknown", "DELETE", "/nope", "", 404, ""},
		{"remove: the fallback", "DELETE", "/fallback", "", 400, ""},
		{"disable: a number for the reason", "POST", "/max-a/disable", `{"reason": 5}`, 400, "/reason"},
		{"disable: an unknown field", "POST", "/max-a/disable", `{"why": "x"}`, 400, "/why"},
		{"disable: unknown", "POST", "/nope/disable", ``, 404, ""},
		{"disable: wrong method", "GET", "/max-a/disable", ``, 405, ""},
		{"enable: an unknown field", "POST", "/max-a/enable", `{"now": true}`, 400, "/now"},
		{"enable: unknown", "POST", "/nope/enable", ``, 404, ""},
		{"credential: no access token", "PUT", "/max-a/credential", `{}`, 400, "/access"},
		{"credential: a line break", "PUT", "/max-a/credential", `{"access": "` + newCred + `\r\n"}`, 400, "/access"},
		{"credential: a bad refresh token", "PUT", "/max-a/credential", `{"access": "` + newCred + `", "refresh": "r\tx"}`, 400, "/refresh"},
		{"credential: a bad expiry", "PUT", "/max-a/credential", `{"access": "` + newCred + `", "expiresAt": "soon"}`, 400, "/expiresAt"},
		{"credential: a number", "PUT", "/max-a/credential", `{"access": 123}`, 400, "/access"},
		{"credential: unknown", "PUT", "/nope/credential", `{"access": "` + newCred + `"}`, 404, ""},
		{"credential: wrong method", "POST", "/max-a/credential", `{"access": "` + newCred + `"}`, 405, ""},
		{"an unknown action", "POST", "/max-a/frobnicate", ``, 404, ""},
		{"too deep", "GET", "/max-a/credential/x", ``, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := records(t, st)
			resp, b := h.do(t, tc.method, "/admin/v1/subscriptions"+tc.path, adminTok, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, b, tc.status)
			}
			e := errorOf(t, b)
			if e.Error.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", e.Error.Field, tc.field, e.Error.Message)
			}
			if strings.Contains(string(b), newCred) || strings.Contains(string(b), credA) {
				t.Errorf("the answer quotes a credential: %s", b)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("a 405 without Allow")
			}
			if diff := cmp.Diff(before, records(t, st)); diff != "" {
				t.Errorf("the store changed (-before +after):\n%s", diff)
			}
		})
	}
}

// records returns the store's subscriptions, credentials as stored.
func records(t *testing.T, st store.Store) []store.Subscription {
	t.Helper()
	recs, err := st.Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestAdminSealsCredentials: with a keyring, what the admin API writes is
// sealed in the store, and opens for the pool.
func TestAdminSealsCredentials(t *testing.T) {
	keys, err := seal.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st, Keyring: ring}})
	resp, b := h.do(t, http.MethodPost, "/admin/v1/subscriptions", adminTok,
		`{"id": "pro-c", "kind": "pro", "credential": "`+newCred+`", "refreshToken": "sk-ant-ort01-admin-0123456789"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	for _, rec := range records(t, st) {
		if !seal.IsSealed(rec.Credential.Reveal()) || rec.RefreshToken != "" && !seal.IsSealed(rec.RefreshToken.Reveal()) {
			t.Errorf("subscription %s is stored unsealed", rec.ID)
		}
	}
	a, err := h.srv.Pool().Allocate(t.Context(), "someone", authpool.ForModel(testModel))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(a.Credential.Reveal(), seal.Prefix) {
		t.Errorf("the pool hands out a sealed credential")
	}
}
