package statuspage_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/statuspage"
	"github.com/authpool/authpool/store"
)

// TestGoldenCallers renders the fixed snapshot with the fixed callers as
// testdata/statuspage_callers.golden.html (go test ./statuspage -run
// TestGoldenCallers -update rewrites it). TestGolden shows the page
// without them.
func TestGoldenCallers(t *testing.T) {
	h := statuspage.New(&source{snap: fixedSnapshot()}, statuspage.WithCallers(callerSource{reports: fixedCallers()}))
	got := body(t, serve(t, h, "GET", "/", nil))
	path := filepath.Join("testdata", "statuspage_callers.golden.html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./statuspage -run TestGoldenCallers -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("page differs from %s (-want +got):\n%s", path, diff)
	}
	// The page without callers is the page with them but for the table
	// and the summary's count.
	without := body(t, serve(t, statuspage.New(&source{snap: fixedSnapshot()}), "GET", "/", nil))
	start, end := strings.Index(got, `<section class="callers"`), strings.Index(got, `<section class="sessions"`)
	if start < 0 || end < start {
		t.Fatalf("no callers' section before the sessions'")
	}
	trimmed := strings.Replace(got[:start]+got[end:], " · 5 callers</p>", "</p>", 1)
	if diff := cmp.Diff(without, trimmed); diff != "" {
		t.Errorf("the page with callers, their table taken out, differs from the page without (-without +with):\n%s", diff)
	}
}

// snapshotWithCallers is the JSON of a page with callers.
type snapshotWithCallers struct {
	authpool.Snapshot
	Callers      []callerreport.Report `json:"callers"`
	CallersError string                `json:"callersError"`
}

// TestJSONCallers: the JSON holds the callers under "callers" when the page
// has a source of them, says when they could not be read, and has no such
// key without a source.
func TestJSONCallers(t *testing.T) {
	snap := fixedSnapshot()
	for _, tc := range []struct {
		name    string
		opts    []statuspage.Option
		want    snapshotWithCallers
		wantKey bool
	}{
		{"with callers", []statuspage.Option{statuspage.WithCallers(callerSource{reports: fixedCallers()})},
			snapshotWithCallers{Snapshot: snap, Callers: fixedCallers()}, true},
		{"none yet", []statuspage.Option{statuspage.WithCallers(callerSource{reports: []callerreport.Report{}})},
			snapshotWithCallers{Snapshot: snap, Callers: []callerreport.Report{}}, true},
		{"the callers fail", []statuspage.Option{statuspage.WithCallers(callerSource{err: errors.New("redis: i/o timeout")})},
			snapshotWithCallers{Snapshot: snap, CallersError: "the callers could not be read right now"}, true},
		{"without a source", nil, snapshotWithCallers{Snapshot: snap}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := body(t, serve(t, statuspage.New(&source{snap: snap}, tc.opts...), "GET", "/?format=json", nil))
			var got snapshotWithCallers
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			if has := strings.Contains(raw, `"callers":`); has != tc.wantKey {
				t.Errorf(`the JSON has "callers": %v, want %v`, has, tc.wantKey)
			}
		})
	}
}

// TestCallersFail: reports that fail leave the pool's page as it is, say
// so in the callers' section, and are logged.
func TestCallersFail(t *testing.T) {
	var logs bytes.Buffer
	h := statuspage.New(&source{snap: fixedSnapshot()}, statuspage.WithCallers(callerSource{err: errors.New("redis: i/o timeout")}),
		statuspage.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	res := serve(t, h, "GET", "/", nil)
	page := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	for _, want := range []string{`<p class="empty unavailable">the callers could not be read right now</p>`, `id="sub-max-a"`,
		"4 subscriptions: 1 taking clients, 1 not taking clients, 1 limited, 1 disabled · a fallback · 5 sessions</p>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "i/o timeout") {
		t.Errorf("the page shows the error")
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "i/o timeout") {
		t.Errorf("the log lacks a warning with the error:\n%s", l)
	}
}

// TestCallersEscaped: a caller's ID is text on the page, never markup.
func TestCallersEscaped(t *testing.T) {
	cs := fixedCallers()
	cs[0].ID = `<script>alert("ci")</script>`
	page := body(t, serve(t, statuspage.New(&source{snap: fixedSnapshot()}, statuspage.WithCallers(callerSource{reports: cs})), "GET", "/", nil))
	if strings.Contains(page, "<script") {
		t.Errorf("the page has a script")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;ci&#34;)&lt;/script&gt;") {
		t.Errorf("the page lacks the escaped ID")
	}
}

// TestCallersNoKey serves the page and JSON of a stored caller: neither
// shows its key, nor the key's hash the store keeps.
func TestCallersNoKey(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	key, err := proxy.NewCallerKey()
	if err != nil {
		t.Fatal(err)
	}
	hash := proxy.HashCallerKey(key.Reveal())
	if err := st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: hash, Cap: 20e9, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChargeCaller(ctx, "ci", store.Charge{At: t0, Cost: 1e9, Session: "s"}); err != nil {
		t.Fatal(err)
	}
	src := &callerreport.Source{Store: st, Now: func() time.Time { return t0 }}
	h := statuspage.New(&source{snap: fixedSnapshot()}, statuspage.WithCallers(src))
	secrets := []string{key.Reveal(), key.Reveal()[len(proxy.CallerKeyPrefix):], hex.EncodeToString(hash[:]),
		base64.StdEncoding.EncodeToString(hash[:]), base64.RawURLEncoding.EncodeToString(hash[:])}
	for _, target := range []string{"/", "/?format=json"} {
		page := body(t, serve(t, h, "GET", target, nil))
		if !strings.Contains(page, `ci`) || !strings.Contains(page, "20") {
			t.Fatalf("%s lacks the caller:\n%.300s", target, page)
		}
		for _, s := range secrets {
			if strings.Contains(page, s) {
				t.Errorf("%s shows %q", target, s)
			}
		}
	}
}
