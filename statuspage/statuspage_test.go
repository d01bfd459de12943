package statuspage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/statuspage"
)

// serve sends one request to h and returns the response.
func serve(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// browserAccept is what Chromium sends for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// TestHandler answers each method and format with its status, type and
// body, and every answer with no-store.
func TestHandler(t *testing.T) {
	h := statuspage.New(&source{snap: fixedSnapshot()})
	for _, tc := range []struct {
		name, method, target string
		accept               string
		wantStatus           int
		wantType             string
		wantBody             string // a substring; "" for an empty body
		wantAllow            string
	}{
		{"page", "GET", "/status", "", 200, "text/html; charset=utf-8", "<title>authpool status</title>", ""},
		{"browser", "GET", "/", browserAccept, 200, "text/html; charset=utf-8", "<title>authpool status</title>", ""},
		{"curl", "GET", "/", "*/*", 200, "text/html; charset=utf-8", "<title>authpool status</title>", ""},
		{"format=json", "GET", "/status?format=json", "", 200, "application/json", `"id":"max-a"`, ""},
		{"format=json beats a browser's Accept", "GET", "/?format=json", browserAccept, 200, "application/json", `"id":"max-a"`, ""},
		{"format=html beats Accept json", "GET", "/?format=html", "application/json", 200, "text/html; charset=utf-8", "<title>", ""},
		{"Accept json", "GET", "/", "application/json", 200, "application/json", `"id":"max-a"`, ""},
		{"Accept json over a wildcard", "GET", "/", "application/json, */*;q=0.1", 200, "application/json", `"id":"max-a"`, ""},
		{"Accept html over json", "GET", "/", "application/json;q=0.5, text/html", 200, "text/html; charset=utf-8", "<title>", ""},
		{"HEAD", "HEAD", "/", "", 200, "text/html; charset=utf-8", "", ""},
		{"HEAD json", "HEAD", "/?format=json", "", 200, "application/json", "", ""},
		{"unknown format", "GET", "/?format=xml", "", 400, "text/plain; charset=utf-8", `statuspage: unknown format "xml": use html or json`, ""},
		{"empty format", "GET", "/?format=", "", 400, "text/plain; charset=utf-8", `unknown format ""`, ""},
		{"POST", "POST", "/", "", 405, "text/plain; charset=utf-8", "statuspage: method POST not allowed: use GET or HEAD", "GET, HEAD"},
		{"PUT", "PUT", "/?format=json", "", 405, "text/plain; charset=utf-8", "method PUT not allowed", "GET, HEAD"},
		{"DELETE", "DELETE", "/", "", 405, "text/plain; charset=utf-8", "method DELETE not allowed", "GET, HEAD"},
		{"HEAD of an unknown format", "HEAD", "/?format=xml", "", 400, "text/plain; charset=utf-8", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr http.Header
			if tc.accept != "" {
				hdr = http.Header{"Accept": {tc.accept}}
			}
			res := serve(t, h, tc.method, tc.target, hdr)
			got := body(t, res)
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d; body %q", res.StatusCode, tc.wantStatus, got)
			}
			for k, want := range map[string]string{"Content-Type": tc.wantType, "Allow": tc.wantAllow,
				"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
				if g := res.Header.Get(k); g != want {
					t.Errorf("%s: %q, want %q", k, g, want)
				}
			}
			if tc.wantBody == "" && got != "" {
				t.Errorf("body %q, want none", got)
			}
			if !strings.Contains(got, tc.wantBody) {
				t.Errorf("body lacks %q:\n%.400s", tc.wantBody, got)
			}
		})
	}
}

// TestHeadMatchesGet: HEAD tells the length GET sends.
func TestHeadMatchesGet(t *testing.T) {
	h := statuspage.New(&source{snap: fixedSnapshot()})
	for _, target := range []string{"/", "/?format=json"} {
		get := serve(t, h, "GET", target, nil)
		n := len(body(t, get))
		head := serve(t, h, "HEAD", target, nil)
		if got, want := head.Header.Get("Content-Length"), get.Header.Get("Content-Length"); got != want || got == "" {
			t.Errorf("%s: HEAD Content-Length %q, GET %q", target, got, want)
		}
		if get.ContentLength != int64(n) {
			t.Errorf("%s: GET Content-Length %d, body %d bytes", target, get.ContentLength, n)
		}
	}
}

// TestJSON is the snapshot itself, as authpool marshals it.
func TestJSON(t *testing.T) {
	snap := fixedSnapshot()
	res := serve(t, statuspage.New(&source{snap: snap}), "GET", "/?format=json", nil)
	var got authpool.Snapshot
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap, got); diff != "" {
		t.Errorf("JSON snapshot (-want +got):\n%s", diff)
	}
}

// TestSnapshotFails answers 503 with a plain message when the snapshot
// fails or outlasts the timeout, logs the error, and shows nothing of it.
func TestSnapshotFails(t *testing.T) {
	storeDown := errors.New("redis: connection refused by 10.0.0.7:6379")
	for _, tc := range []struct {
		name    string
		src     *source
		opts    []statuspage.Option
		wantLog string
	}{
		{"error", &source{err: storeDown}, nil, "connection refused"},
		{"timeout", &source{block: true}, []statuspage.Option{statuspage.WithTimeout(20 * time.Millisecond)}, "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := statuspage.New(tc.src, append(tc.opts, statuspage.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
			for _, target := range []string{"/", "/?format=json"} {
				res := serve(t, h, "GET", target, nil)
				got := body(t, res)
				if res.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("%s: status %d, want 503", target, res.StatusCode)
				}
				if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", target, ct)
				}
				if want := "statuspage: the pool's status is unavailable right now; try again shortly\n"; got != want {
					t.Errorf("%s: body %q, want %q", target, got, want)
				}
				if res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: Cache-Control %q", target, res.Header.Get("Cache-Control"))
				}
			}
			if !strings.Contains(logs.String(), tc.wantLog) || !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("log lacks a warning with %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

// TestTimeout: the snapshot is read under a deadline, the default or the
// one set.
func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []statuspage.Option
		want time.Duration
	}{
		{"default", nil, statuspage.DefaultTimeout},
		{"set", []statuspage.Option{statuspage.WithTimeout(2 * time.Second)}, 2 * time.Second},
		{"zero means the default", []statuspage.Option{statuspage.WithTimeout(0)}, statuspage.DefaultTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &source{snap: fixedSnapshot()}
			serve(t, statuspage.New(src, tc.opts...), "GET", "/", nil)
			if len(src.deadlines) != 1 {
				t.Fatalf("%d snapshots, want 1", len(src.deadlines))
			}
			// The deadline is measured a moment after it was set.
			if d := src.deadlines[0]; d > tc.want || d < tc.want-time.Second {
				t.Errorf("deadline in %v, want %v", d, tc.want)
			}
		})
	}
}

// TestRefresh: the page reloads itself every WithRefresh, rounded up to a
// second, or not at all.
func TestRefresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []statuspage.Option
		want string // the meta element; "" for none
	}{
		{"default", nil, `<meta http-equiv="refresh" content="15">`},
		{"30s", []statuspage.Option{statuspage.WithRefresh(30 * time.Second)}, `<meta http-equiv="refresh" content="30">`},
		{"rounded up", []statuspage.Option{statuspage.WithRefresh(1500 * time.Millisecond)}, `<meta http-equiv="refresh" content="2">`},
		{"off", []statuspage.Option{statuspage.WithRefresh(0)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := body(t, serve(t, statuspage.New(&source{snap: fixedSnapshot()}, tc.opts...), "GET", "/", nil))
			got := regexp.MustCompile(`<meta http-equiv="refresh"[^>]*>`).FindString(page)
			if got != tc.want {
				t.Errorf("refresh %q, want %q", got, tc.want)
			}
		})
	}
}

// TestContentSecurityPolicy: nothing loads but the page's own style sheet,
// allowed by its hash; the page holds no script, and no other style.
func TestContentSecurityPolicy(t *testing.T) {
	res := serve(t, statuspage.New(&source{snap: fixedSnapshot()}), "GET", "/", nil)
	page := body(t, res)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	if len(styles) != 1 {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	if got := res.Header.Get("Content-Security-Policy"); got != want {
		t.Errorf("Content-Security-Policy\n got %q\nwant %q", got, want)
	}
	for _, banned := range []string{"<script", " style=", "<link", "<img", "src=", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("the page has %q", banned)
		}
	}
}

// TestGolden renders the fixed snapshot as testdata/statuspage.golden.html
// (rewrite with go test ./statuspage -run TestGolden -update).
func TestGolden(t *testing.T) {
	got := body(t, serve(t, statuspage.New(&source{snap: fixedSnapshot()}), "GET", "/", nil))
	path := filepath.Join("testdata", "statuspage.golden.html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./statuspage -run TestGolden -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("page differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestNoCredential serves a real pool's page and JSON: the credentials of
// its subscriptions and fallback appear in neither.
func TestNoCredential(t *testing.T) {
	creds := []string{"sk-ant-oat01-PAGE-MAX-A-0123456789abcdef", "sk-ant-api03-PAGE-PRO-B-fedcba9876543210",
		"sk-ant-api03-PAGE-FALLBACK-00112233445566"}
	ctx := t.Context()
	now := t0
	p, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Name: "Max A", Kind: authpool.KindMax20x, Credential: authpool.Credential(creds[0]),
				WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "pro-b", Kind: authpool.KindPro, Credential: authpool.Credential(creds[1]),
				WeeklyBudgetUSD: 60, BlockBudgetUSD: 18},
		},
		Fallback: &authpool.Fallback{Credential: authpool.Credential(creds[2]), DailyBudgetUSD: 20},
	}, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	for i, client := range []string{"alice", "bob", "carol"} {
		a, err := p.Allocate(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Record(ctx, client, authpool.Usage{ID: "msg_" + client, SubscriptionID: a.SubscriptionID,
			Time: now, CostUSD: float64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.MarkLimited(ctx, "pro-b", now.Add(time.Hour), "5-hour limit reached"); err != nil {
		t.Fatal(err)
	}
	h := statuspage.New(p)
	for _, target := range []string{"/", "/?format=json"} {
		res := serve(t, h, "GET", target, nil)
		page := body(t, res)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "max-a") || !strings.Contains(page, "alice") {
			t.Fatalf("%s: status %d, want 200 with the pool:\n%.400s", target, res.StatusCode, page)
		}
		for _, c := range creds {
			// The whole credential, and its distinctive middle.
			for _, s := range []string{c, c[len("sk-ant-api03-") : len(c)-4]} {
				if strings.Contains(page, s) {
					t.Errorf("%s shows a credential (%q)", target, s)
				}
			}
		}
	}
}

// TestEscapes: names and reasons are text on the page, never markup.
func TestEscapes(t *testing.T) {
	snap := fixedSnapshot()
	snap.Subscriptions[0].Name = `<script>alert("name")</script>`
	snap.Subscriptions[1].Status.Reason = `"><img src=x onerror=alert(1)>`
	snap.Sessions[0].ClientID = `<b>alice</b>`
	page := body(t, serve(t, statuspage.New(&source{snap: snap}), "GET", "/", nil))
	for _, banned := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(page, banned) {
			t.Errorf("the page has %q", banned)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"&lt;b&gt;alice&lt;/b&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
