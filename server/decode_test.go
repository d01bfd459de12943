package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authpool/authpool"
)

// FuzzDecodeBody decodes arbitrary bodies as each admin endpoint does:
// it never panics; it either decodes what a strict decoder decodes, or
// answers a 4xx whose field is empty or a pointer into the body's object
// (its first token a key of it).
//
//	go test -run '^$' -fuzz FuzzDecodeBody ./server/
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"id": "a", "kind": "pro", "credential": "c"}`, `{"weeklyBudgetUSD": "x"}`, `{"status": {"state": "bogus"}}`,
		`{"access": "t", "expiresAt": "soon"}`, `{"a/b~c": 1}`, `[]`, `null`, `{`, `{} {}`, `{"maxClients": 1e400}`, ``,
		`{"id": "ci", "capUSD": 20, "capWindow": "5h", "rate": {"perSecond": 2, "burst": 5}}`, `{"rate": {"perSecond": "x"}}`,
		`{"rate": {"burst": 1.5, "x": 1}}`, `{"sessionless": 3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return new(authpool.Subscription) },
			func() any { return new(authpool.SubscriptionUpdate) },
			func() any { return new(authpool.Token) },
			func() any { return new(callerBody) },
		} {
			v := target()
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			e := decodeBody(httptest.NewRecorder(), r, v, true)
			if e == nil {
				if len(bytes.TrimSpace(body)) > 0 && strict(body, target()) != nil {
					t.Fatalf("decodeBody took %q, which a strict decoder refuses", body)
				}
				continue
			}
			if e.status < 400 || e.status > 499 || e.msg == "" {
				t.Fatalf("decodeBody(%q) = %+v, want a 4xx with a message", body, e)
			}
			if e.field != "" {
				var top map[string]json.RawMessage
				if json.Unmarshal(body, &top) != nil {
					t.Fatalf("decodeBody(%q) names field %q of a body that is not an object", body, e.field)
				}
				first, _, _ := strings.Cut(strings.TrimPrefix(e.field, "/"), "/")
				key := strings.ReplaceAll(strings.ReplaceAll(first, "~1", "/"), "~0", "~")
				if _, ok := top[key]; !ok {
					t.Fatalf("decodeBody(%q) names field %q, not in the body", body, e.field)
				}
			}
		}
	})
}

// A value of the wrong type inside an object is named by its full
// pointer; any other problem by its top-level field.
func TestDecodeBodyNamesNestedFields(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"rate": {"perSecond": "fast"}}`, "/rate/perSecond"},
		{`{"rate": {"burst": 1.5}}`, "/rate/burst"},
		{`{"rate": {"perSecond": 1, "colour": "red"}}`, "/rate"},
		{`{"rate": 5}`, "/rate"},
		{`{"capUSD": "lots"}`, "/capUSD"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		e := decodeBody(httptest.NewRecorder(), r, new(callerBody), false)
		if e == nil || e.field != tc.field || e.status != http.StatusBadRequest {
			t.Errorf("decodeBody(%s) = %+v; want 400 naming %s", tc.body, e, tc.field)
		}
	}
}
