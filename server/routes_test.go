package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// TestEndpointsAuth: each endpoint of the server's own lets in whom it
// should and answers everyone else in the one error shape, with
// WWW-Authenticate on a 401.
func TestEndpointsAuth(t *testing.T) {
	h := start(t, setup{})
	for _, tc := range []struct {
		path, bearer string
		status       int
		errType      string // "" for a success
	}{
		{"/healthz", "", 200, ""},
		{"/readyz", "", 200, ""},
		{"/status", statusTok, 200, ""},
		{"/status", adminTok, 200, ""},
		{"/status", "", 401, typeAuth},
		{"/status", keyAlice, 401, typeAuth},
		{"/status", statusTok + "x", 401, typeAuth},
		{"/metrics", statusTok, 200, ""},
		{"/metrics", adminTok, 200, ""},
		{"/metrics", "", 401, typeAuth},
		{"/admin/v1/subscriptions", adminTok, 200, ""},
		{"/admin/v1/subscriptions", "", 401, typeAuth},
		{"/admin/v1/subscriptions", statusTok, 401, typeAuth},
		{"/admin/v1/subscriptions", keyAlice, 401, typeAuth},
		{"/admin/v1/nothing", adminTok, 404, typeNotFound},
		{"/admin/v1/nothing", "", 401, typeAuth}, // the token first: no path is told to a stranger
		{"/elsewhere", "", 404, typeNotFound},
	} {
		resp, body := h.do(t, http.MethodGet, tc.path, tc.bearer, "")
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s with %q: %d %s, want %d", tc.path, tc.bearer, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.errType != "" {
			if e := errorOf(t, body); e.Error.Type != tc.errType {
				t.Errorf("GET %s: error type %q, want %q", tc.path, e.Error.Type, tc.errType)
			}
		}
		if got := resp.Header.Get("WWW-Authenticate"); (tc.status == 401) != (got != "") {
			t.Errorf("GET %s: %d with WWW-Authenticate %q", tc.path, tc.status, got)
		}
		for _, secret := range testSecrets {
			if strings.Contains(string(body), secret) {
				t.Errorf("GET %s shows the secret %q", tc.path, secret)
			}
		}
	}
}

// TestEndpointsClosedOrPublic: without tokens the status and the admin API
// are closed (403); with publicStatus the status is open to all.
func TestEndpointsClosedOrPublic(t *testing.T) {
	for _, tc := range []struct {
		name         string
		edit         func(f *configfile.File)
		statusStatus int
		adminStatus  int
	}{
		{"no tokens", func(f *configfile.File) { f.Server.AdminToken, f.Server.StatusToken = "", "" }, 403, 403},
		{"public status", func(f *configfile.File) { f.Server.PublicStatus = true }, 200, 401},
		{"admin token only", func(f *configfile.File) { f.Server.StatusToken = "" }, 401, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, setup{edit: tc.edit})
			for path, want := range map[string]int{"/status": tc.statusStatus, "/metrics": tc.statusStatus, "/admin/v1/subscriptions": tc.adminStatus} {
				resp, body := h.do(t, http.MethodGet, path, "", "")
				if resp.StatusCode != want {
					t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
				}
				if want >= 400 {
					errorOf(t, body)
				}
			}
		})
	}
}

// failingStore is a store whose reads fail, for /readyz.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (s *failingStore) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	if s.fail.Load() {
		return store.Subscription{}, errors.Join(store.ErrUnavailable, errors.New("redis: connection refused"))
	}
	return s.Store.Subscription(ctx, id)
}

// TestReadyz: ready while the store answers; not when it fails, nor once
// the server stops.
func TestReadyz(t *testing.T) {
	st := &failingStore{Store: memstore.New()}
	h := start(t, setup{opts: Options{Store: st}})
	check := func(want int) {
		t.Helper()
		resp, body := h.do(t, http.MethodGet, "/readyz", "", "")
		if resp.StatusCode != want {
			t.Errorf("GET /readyz: %d %s, want %d", resp.StatusCode, body, want)
		}
		if want != 200 {
			errorOf(t, body)
		}
	}
	check(200)
	st.fail.Store(true)
	check(503)
	st.fail.Store(false)
	h.srv.draining.Store(true)
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("GET /readyz while stopping: %d, want 503", rec.Code)
	}
}

func TestHealthzBody(t *testing.T) {
	h := start(t, setup{})
	_, body := h.do(t, http.MethodGet, "/healthz", "", "")
	if diff := cmp.Diff(`{"status":"ok"}`+"\n", string(body)); diff != "" {
		t.Errorf("/healthz (-want +got):\n%s", diff)
	}
}
