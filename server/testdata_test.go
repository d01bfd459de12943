package server

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// TestExampleConfig: testdata/server/pool.json runs offline once its
// upstream placeholder points at a fake: its callers are served, its
// status is closed, its admin API opens with its admin token.
func TestExampleConfig(t *testing.T) {
	f, err := configfile.Load(filepath.Join("..", "testdata", "server", "pool.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Server.PublicStatus || f.Server.Store.URL != "memory" || f.Server.StatusToken == "" || f.Server.AdminToken == "" {
		t.Errorf("the example's server section: %+v; want status closed, memory, both tokens", f.Server)
	}
	up := httptest.NewServer(&fakeanthropic.Server{})
	defer up.Close()
	f.Server.Upstream, f.Server.Listen = up.URL, "127.0.0.1:0"
	srv, err := New(t.Context(), f, Options{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/v1/messages",
		strings.NewReader(`{"model":"`+testModel+`","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", f.Callers[0].Key.Reveal())
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a request of the example's caller: %d", resp.StatusCode)
	}
	for path, bearer := range map[string]string{"/status": "", "/metrics": "", "/admin/v1/subscriptions": f.Server.StatusToken.Reveal()} {
		if resp, _ := send(t, ts.Client(), http.MethodGet, ts.URL+path, bearer, ""); resp.StatusCode != 401 {
			t.Errorf("GET %s: %d, want 401", path, resp.StatusCode)
		}
	}
	if resp, _ := send(t, ts.Client(), http.MethodGet, ts.URL+"/admin/v1/subscriptions", f.Server.AdminToken.Reveal(), ""); resp.StatusCode != 200 {
		t.Errorf("the admin API with the example's admin token: %d", resp.StatusCode)
	}
	srv.release(t.Context()) // never served
}
