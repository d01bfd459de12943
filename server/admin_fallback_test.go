package server

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/memstore"
)

// TestAdminFallbackActions: the admin API does not serve the fallback (GET
// answers 404, the list leaves it out), so an action on it must not change
// it either: an answer of 404 after a change would tell the operator that
// nothing happened.
func TestAdminFallbackActions(t *testing.T) {
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st}, edit: func(f *configfile.File) {
		f.Config.Fallback = &authpool.Fallback{Credential: keyAPI + "-fallback", DailyBudgetUSD: 5}
	}})
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"disable", http.MethodPost, "/fallback/disable", `{"reason": "off"}`},
		{"enable", http.MethodPost, "/fallback/enable", ``},
		{"credential", http.MethodPut, "/fallback/credential", `{"access": "` + newCred + `", "refresh": "sk-ant-ort01-fb-0123456789", "expiresAt": "2026-12-07T18:00:00Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := records(t, st)
			resp, b := h.do(t, tc.method, "/admin/v1/subscriptions"+tc.path, adminTok, tc.body)
			changed := cmp.Diff(before, records(t, st))
			if changed != "" {
				t.Errorf("%s %s answered %d (%s) and changed the store (-before +after):\n%s", tc.method, tc.path, resp.StatusCode, b, changed)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s: %d %s, want 400", tc.method, tc.path, resp.StatusCode, b)
			}
			errorOf(t, b)
		})
	}
}
