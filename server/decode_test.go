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
// answers a 4xx whose field is empty or a key of the body's object.
//
//	go test -run '^$' -fuzz FuzzDecodeBody ./server/
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"id": "a", "kind": "pro", "credential": "c"}`, `{"weeklyBudgetUSD": "x"}`, `{"status": {"state": "bogus"}}`,
		`{"access": "t", "expiresAt": "soon"}`, `{"a/b~c": 1}`, `[]`, `null`, `{`, `{} {}`, `{"maxClients": 1e400}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return new(authpool.Subscription) },
			func() any { return new(authpool.SubscriptionUpdate) },
			func() any { return new(authpool.Token) },
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
				key := strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(e.field, "/"), "~1", "/"), "~0", "~")
				if _, ok := top[key]; !ok {
					t.Fatalf("decodeBody(%q) names field %q, not in the body", body, e.field)
				}
			}
		}
	})
}
