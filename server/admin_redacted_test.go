package server

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/memstore"
)

// TestAdminRefusesRedactedCredential: the admin API shows every credential
// as "[REDACTED]"; an answer pasted back (a subscription copied from one
// server's GET to another's POST, a token from a GET into a PUT) must not
// store "[REDACTED]" as the credential, which would only fail upstream:
// it is refused, naming the field, and changes nothing.
func TestAdminRefusesRedactedCredential(t *testing.T) {
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st}})
	for _, tc := range []struct {
		name, method, path, body, field string
	}{
		{"add: the credential", http.MethodPost, "", `{"id": "pro-c", "kind": "pro", "credential": "[REDACTED]"}`, "/credential"},
		{"add: the refresh token", http.MethodPost, "", `{"id": "pro-d", "kind": "pro", "credential": "` + newCred + `", "refreshToken": "[REDACTED]"}`, "/refreshToken"},
		{"update: the credential", http.MethodPatch, "/max-a", `{"credential": "[REDACTED]"}`, "/credential"},
		{"update: the refresh token", http.MethodPatch, "/max-a", `{"refreshToken": "[REDACTED]"}`, "/refreshToken"},
		{"credential: access", http.MethodPut, "/max-a/credential", `{"access": "[REDACTED]"}`, "/access"},
		{"credential: refresh", http.MethodPut, "/max-a/credential", `{"access": "` + newCred + `", "refresh": "[REDACTED]"}`, "/refresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := records(t, st)
			resp, b := h.do(t, tc.method, "/admin/v1/subscriptions"+tc.path, adminTok, tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s: %d %s, want 400", tc.method, tc.path, resp.StatusCode, b)
			} else if e := errorOf(t, b); e.Error.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", e.Error.Field, tc.field, e.Error.Message)
			}
			if diff := cmp.Diff(before, records(t, st)); diff != "" {
				t.Errorf("the store changed (-before +after):\n%s", diff)
			}
		})
	}
}
