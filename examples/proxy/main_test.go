package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// config is the example config, from this directory.
const config = "../../configfile/testdata/pool.json"

// secret reads one of the example config's secrets.
func secret(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../configfile/testdata/secrets/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// syncBuffer is a log's text, safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRun serves the example config's pool in front of a fake upstream and
// sends it what an SDK (or Claude Code) sends: a caller's key, a message
// and a stream. The upstream sees the Max 20x's token; an unknown key is
// refused; the proxy stops when its context ends; no secret is logged.
func TestRun(t *testing.T) {
	up := &fakeanthropic.Server{}
	ts := httptest.NewServer(up)
	defer ts.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", config, "-listen", "127.0.0.1:0", "-upstream", ts.URL}, stdoutW, stderr)
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v; stderr:\n%s", err, stderr)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()

	client := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(base),
		option.WithAPIKey(secret(t, "caller-alice.key")), option.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5-20250929",
		MaxTokens: 100,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
	}
	msg, err := client.Messages.New(ctx, params, option.WithHeader("X-Claude-Code-Session-Id", "session-1"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.OutputTokens != fakeanthropic.DefaultUsage.Output {
		t.Errorf("usage %+v", msg.Usage)
	}
	stream := client.Messages.NewStreaming(ctx, params)
	var events int
	for stream.Next() {
		events++
	}
	if err := stream.Err(); err != nil || events == 0 {
		t.Errorf("stream: %d events, %v", events, err)
	}
	stream.Close()

	stranger := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(base),
		option.WithAPIKey("ap-caller-nobody-knows-0000"), option.WithMaxRetries(0))
	var apiErr *anthropic.Error
	if _, err := stranger.Messages.New(ctx, params); err == nil || !asAPIError(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown key: %v; want a 401", err)
	}

	// The status page and the metrics, beside the proxy: the pool with the
	// Max 20x's two requests, and no secret.
	pages := map[string]string{}
	for _, target := range []string{"/status", "/status?format=json", "/metrics"} {
		res, err := http.Get(base + target)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v:\n%s", target, res.StatusCode, err, b)
		}
		pages[target] = string(b)
	}
	var snap authpool.Snapshot
	if err := json.Unmarshal([]byte(pages["/status?format=json"]), &snap); err != nil {
		t.Fatal(err)
	}
	var requests int64
	for _, s := range snap.Sessions {
		requests += s.Requests
	}
	if len(snap.Subscriptions) == 0 || requests != 2 {
		t.Errorf("status: %d subscriptions, %d requests; want the pool's, and 2", len(snap.Subscriptions), requests)
	}
	if !strings.Contains(pages["/status"], "<title>authpool status</title>") {
		t.Errorf("GET /status is not the page:\n%.300s", pages["/status"])
	}
	for _, line := range []string{"\nauthpool_up 1\n", "\nauthpool_records_total 2\n", `authpool_allocations_total{outcome="new"} 2`} {
		if !strings.Contains(pages["/metrics"], line) {
			t.Errorf("GET /metrics has no %q:\n%s", line, pages["/metrics"])
		}
	}
	for _, name := range []string{"caller-alice.key", "max-20x.token", "max-5x.token", "pro.token", "fallback.key"} {
		for target, page := range pages {
			if strings.Contains(page, secret(t, name)) {
				t.Errorf("%s shows %s", target, name)
			}
		}
	}

	tokens := map[string]bool{secret(t, "max-20x.token"): true, secret(t, "max-5x.token"): true, secret(t, "pro.token"): true}
	for i, r := range up.Requests() {
		if !tokens[r.Bearer] || r.APIKey != "" {
			t.Errorf("request %d went with bearer %q, x-api-key %q; want a subscription's token", i, r.Bearer, r.APIKey)
		}
	}
	if n := up.Count(); n != 2 {
		t.Errorf("the upstream got %d requests; want 2", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	logs := stderr.String()
	for _, name := range []string{"caller-alice.key", "caller-ci.key", "max-20x.token", "max-5x.token", "pro.token", "fallback.key", "webhook.secret"} {
		if s := secret(t, name); strings.Contains(logs, s) {
			t.Errorf("the log shows %s:\n%s", name, logs)
		}
	}
	t.Logf("the proxy's log:\n%s", logs)
}

// A listen address off loopback is refused.
func TestRunLoopbackOnly(t *testing.T) {
	err := run(t.Context(), []string{"-config", config, "-listen", "0.0.0.0:0", "-upstream", "http://127.0.0.1:1"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("run on 0.0.0.0: %v; want refused", err)
	}
}

func asAPIError(err error, target **anthropic.Error) bool { return errors.As(err, target) }

// TestRunPricesWithTheConfigsFile: a config naming a price file (relative
// to the config's directory) makes the proxy price with it: a model only
// the file knows costs the file's price, not an estimate.
func TestRunPricesWithTheConfigsFile(t *testing.T) {
	up := &fakeanthropic.Server{}
	up.SetDefault(fakeanthropic.OK(fakeanthropic.Usage{Input: 1e6, Output: 1e6}))
	ts := httptest.NewServer(up)
	defer ts.Close()

	dir := t.TempDir()
	raw, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	tree["prices"] = map[string]any{"file": "house-prices.json"}
	delete(tree, "notify") // offline: no webhook
	js, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "pool.json"), js, 0o600))
	must(os.WriteFile(filepath.Join(dir, "house-prices.json"), []byte(`{"claude-house-1": {"input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06}}`), 0o600))
	must(os.Mkdir(filepath.Join(dir, "secrets"), 0o700))
	entries, err := os.ReadDir("../../configfile/testdata/secrets")
	must(err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("../../configfile/testdata/secrets", e.Name()))
		must(err)
		must(os.WriteFile(filepath.Join(dir, "secrets", e.Name()), b, 0o600))
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", filepath.Join(dir, "pool.json"), "-listen", "127.0.0.1:0", "-upstream", ts.URL}, stdoutW, stderr)
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v; stderr:\n%s", err, stderr)
	}
	base, _ := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()

	client := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(base),
		option.WithAPIKey(secret(t, "caller-alice.key")), option.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model: "claude-house-1", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
	}
	if _, err := client.Messages.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(base + "/status?format=json")
	must(err)
	var snap authpool.Snapshot
	must(json.NewDecoder(res.Body).Decode(&snap))
	res.Body.Close()
	var cost float64
	for _, s := range snap.Sessions {
		cost += s.CostUSD
	}
	if cost != 5 { // $1 + $4: the file's price
		t.Errorf("recorded $%v, want the price file's $5", cost)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestRunCutsSlowBodies: a body that does not arrive within -body-timeout
// gets 408 in Anthropic's shape, its connection closed, and a line in the
// log; the server bounds headers, the request and idle connections, and
// leaves a streaming answer unbounded (newServer).
func TestRunCutsSlowBodies(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", config, "-listen", "127.0.0.1:0", "-upstream", "http://127.0.0.1:1", "-body-timeout", "300ms"}, stdoutW, stderr)
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v; stderr:\n%s", err, stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	addr := strings.TrimPrefix(strings.TrimSpace(line), "listening on http://")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /v1/messages HTTP/1.1\r\nHost: proxy\r\nx-api-key: %s\r\nContent-Length: 1000000\r\n\r\n{", secret(t, "caller-alice.key"))
	_ = c.SetReadDeadline(start.Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"type":"timeout_error"`) || time.Since(start) < 300*time.Millisecond {
		t.Errorf("a slow body: %d %s after %v; want 408 timeout_error after 300ms", resp.StatusCode, body, time.Since(start))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if logs := stderr.String(); !strings.Contains(logs, `msg="authpool proxy: body not received in time" kind=body-timeout status=408 caller=alice count=1`) {
		t.Errorf("the 408 is not in the log:\n%s", logs)
	}

	srv := newServer(http.NotFoundHandler(), 0)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= proxy.DefaultBodyTimeout || srv.IdleTimeout <= 0 || srv.WriteTimeout != 0 {
		t.Errorf("the server's timeouts: header %v, read %v, idle %v, write %v; want the first three set, beyond the body's for read, and no write timeout",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout)
	}
}
