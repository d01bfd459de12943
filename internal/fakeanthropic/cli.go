package fakeanthropic

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CLIVersion is the Claude Code release that [CLI] imitates.
const CLIVersion = "2.1.332"

// The models Claude Code 2.1.332 asks for when it is given no --model: the
// first with an API key or an auth token, the second with an OAuth token.
const (
	CLIDefaultModel      = "claude-opus-5-5"
	CLIDefaultOAuthModel = "claude-sonnet-5-5"
)

// CLIMaxRetryAfter is the longest retry-after Claude Code 2.1.332 waits for:
// a retryable answer asking for a longer wait ends the turn at once.
const CLIMaxRetryAfter = 60 * time.Second

// CLIAuth is how Claude Code authenticates, by the environment variable that
// holds its key.
type CLIAuth uint8

const (
	// AuthAPIKey is ANTHROPIC_API_KEY: the key goes in x-api-key; the
	// unified rate-limit headers are ignored.
	AuthAPIKey CLIAuth = iota
	// AuthToken is ANTHROPIC_AUTH_TOKEN: the key goes in Authorization:
	// Bearer; the unified rate-limit headers are ignored.
	AuthToken
	// AuthOAuth is CLAUDE_CODE_OAUTH_TOKEN: Authorization: Bearer and the
	// oauth-2025-04-20 beta; the unified headers are read (limit notices,
	// "You've hit your limit"), prompt cache is written for 1 hour, and a
	// 401 is sent once more.
	AuthOAuth
)

// The anthropic-beta values Claude Code 2.1.332 sends on /v1/messages.
var (
	cliBetas      = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24"
	cliOAuthBetas = "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24,extended-cache-ttl-2025-04-11"
)

// CLI is a client that speaks to a Messages API server as Claude Code 2.1.332
// does, and reacts to its answers as that release does: what it sends, when
// it retries and what it prints were measured by running the real CLI
// against a local server (see docs/claude-code.md). It stands in for the CLI
// in tests, which must not need the real one.
//
// Each turn is one POST /v1/messages?beta=true with "stream": true and a
// Content-Length, the headers the CLI sends (User-Agent
// claude-cli/2.1.332 (external, sdk-cli), x-app: cli, anthropic-version,
// anthropic-beta, X-Claude-Code-Session-Id) and the key as the auth mode
// puts it. A failed answer is retried as the CLI retries it (see Turn).
//
// A CLI is a value to configure, then use from one goroutine at a time per
// session.
type CLI struct {
	// BaseURL is ANTHROPIC_BASE_URL: the server's URL, without a path.
	BaseURL string
	// Auth says which variable holds Key.
	Auth CLIAuth
	// Key is the caller's key.
	Key string
	// Model is --model; empty means the default of the auth mode
	// (CLIDefaultModel, or CLIDefaultOAuthModel for AuthOAuth).
	Model string
	// Interactive makes it an interactive session (`claude` without -p):
	// its User-Agent says "(external, cli)" instead of "(external,
	// sdk-cli)"; nothing else of what was measured differs.
	Interactive bool
	// MaxRetries is CLAUDE_CODE_MAX_RETRIES: the most retries of one turn.
	// The default is 10.
	MaxRetries int
	// Client sends the requests. The default is http.DefaultClient.
	Client *http.Client
	// Wait waits before a retry; it returns ctx's error if ctx ends first.
	// The default sleeps; tests give one that records the wait and returns.
	Wait func(ctx context.Context, d time.Duration) error
	// Now is the clock the printed reset times are judged by. The default
	// is time.Now.
	Now func() time.Time
}

// CLISession is one conversation: what one `claude -p` run (a new session
// id) or `--resume` (the same id) holds.
type CLISession struct {
	// ID is the X-Claude-Code-Session-Id of its requests.
	ID  string
	cli *CLI
}

// Session starts a conversation with a new session id, as every `claude -p`
// run does.
func (c *CLI) Session() *CLISession { return &CLISession{ID: newUUID(), cli: c} }

// Resume continues the conversation id, as `claude --resume id` does.
func (c *CLI) Resume(id string) *CLISession { return &CLISession{ID: id, cli: c} }

// CLIAttempt is one request of a turn and the answer to it.
type CLIAttempt struct {
	// Waited is how long the CLI waited before sending it.
	Waited time.Duration
	// Status and Header are the answer's.
	Status int
	Header http.Header
}

// CLITurn is what a turn came to.
type CLITurn struct {
	// Attempts are the requests sent, the first included.
	Attempts []CLIAttempt
	// Status is the last answer's status.
	Status int
	// Text is the assistant's text of a successful turn.
	Text string
	// MessageID and Model are the streamed message's.
	MessageID string
	Model     string
	// Shown is what the CLI prints for the turn: Text on success, else its
	// error line (for example "API Error: Request rejected (429) · <the
	// error's message>").
	Shown string
	// RateLimit is the rate_limit_event the CLI emits for the last answer
	// in OAuth mode (its stream-json output, and the notice of its
	// interactive screen); nil in the other modes and when the answer
	// carries no unified header.
	RateLimit *CLIRateLimit
	// Notice is the line the interactive screen shows for RateLimit, such
	// as "You've used 96% of your usage credits · resets 4am (UTC)"; empty
	// when there is none.
	Notice string
}

// Turn sends one turn of the conversation and retries it as Claude Code
// 2.1.332 does: a 408, 409, 429 or 5xx answer (and, in OAuth mode, a first
// 401) is retried unless it says x-should-retry: false or asks, in
// retry-after (or retry-after-ms), for more than CLIMaxRetryAfter, or, in
// OAuth mode, is a 429 that names a usage limit (a representative claim or
// an overage status: "You've hit your ... limit", never retried); the
// wait is the longer of retry-after and a backoff of 0.5 s doubling per
// retry up to 32 s (the CLI adds up to 25 % jitter, left out here); at most
// MaxRetries retries. Transport errors are returned as errors.
func (s *CLISession) Turn(ctx context.Context) (CLITurn, error) {
	c := s.cli
	var turn CLITurn
	var wait time.Duration
	for n := 0; ; n++ {
		if n > 0 {
			if err := c.wait(ctx, wait); err != nil {
				return turn, err
			}
		}
		resp, err := c.client().Do(s.request(ctx))
		if err != nil {
			return turn, fmt.Errorf("fakeanthropic: cli: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return turn, fmt.Errorf("fakeanthropic: cli: reading the answer: %w", err)
		}
		turn.Attempts = append(turn.Attempts, CLIAttempt{Waited: wait, Status: resp.StatusCode, Header: resp.Header})
		turn.Status = resp.StatusCode
		turn.RateLimit, turn.Notice = nil, ""
		if c.Auth == AuthOAuth {
			turn.RateLimit = cliRateLimit(resp.Header)
		}
		if resp.StatusCode < 300 {
			turn.readStream(body)
			turn.Shown = turn.Text
			turn.Notice = turn.RateLimit.notice(c.now())
			return turn, nil
		}
		var retry bool
		retry, wait = c.retry(n, resp)
		if c.Auth == AuthOAuth && resp.StatusCode == http.StatusTooManyRequests && namesLimit(resp.Header) {
			retry = false
		}
		if !retry {
			turn.Shown = c.shown(resp.StatusCode, resp.Header, body, turn.RateLimit)
			return turn, nil
		}
	}
}

// retry says whether the n-th retry (from 0) of an answer is sent, and
// after how long.
func (c *CLI) retry(n int, resp *http.Response) (bool, time.Duration) {
	maxRetries := c.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 10
	}
	st := resp.StatusCode
	retryable := st == 408 || st == 409 || st == 429 || st >= 500 || st == 401 && c.Auth == AuthOAuth && n == 0
	switch resp.Header.Get("X-Should-Retry") {
	case "false":
		retryable = false
	case "true":
		retryable = true
	}
	if !retryable || n >= maxRetries {
		return false, 0
	}
	backoff := min(500*time.Millisecond<<n, 32*time.Second)
	after, ok := cliRetryAfter(resp.Header)
	if !ok {
		return true, backoff
	}
	if after > CLIMaxRetryAfter {
		return false, 0
	}
	return true, max(after, backoff)
}

// cliRetryAfter reads retry-after-ms, else retry-after in seconds.
func cliRetryAfter(h http.Header) (time.Duration, bool) {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms >= 0 {
		return time.Duration(ms * float64(time.Millisecond)), true
	}
	if s, err := strconv.ParseFloat(h.Get("Retry-After"), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, false
}

// request is one turn's request, as the CLI sends it.
func (s *CLISession) request(ctx context.Context) *http.Request {
	c := s.cli
	model := c.Model
	if model == "" {
		model = CLIDefaultModel
		if c.Auth == AuthOAuth {
			model = CLIDefaultOAuthModel
		}
	}
	ttl := ""
	if c.Auth == AuthOAuth {
		ttl = `,"ttl":"1h"`
	}
	body := fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":[{"type":"text","text":"say pong","cache_control":{"type":"ephemeral"%s}}]}],`+
		`"system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."}],"tools":[],`+
		`"metadata":{"user_id":%q},"max_tokens":32000,"thinking":{"type":"adaptive","display":"omitted"},"stream":true}`,
		model, ttl, fmt.Sprintf(`{"device_id":"fake","account_uuid":"","session_id":%q}`, s.ID))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+"/v1/messages?beta=true", bytes.NewReader(body))
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	entrypoint := "sdk-cli"
	if c.Interactive {
		entrypoint = "cli"
	}
	h.Set("User-Agent", "claude-cli/"+CLIVersion+" (external, "+entrypoint+")")
	h.Set("X-App", "cli")
	h.Set("Anthropic-Version", "2023-06-01")
	h.Set("X-Claude-Code-Session-Id", s.ID)
	h.Set("X-Stainless-Lang", "js")
	h.Set("X-Stainless-Retry-Count", "0")
	switch c.Auth {
	case AuthAPIKey:
		h.Set("X-Api-Key", c.Key)
		h.Set("Anthropic-Beta", cliBetas)
	case AuthToken:
		h.Set("Authorization", "Bearer "+c.Key)
		h.Set("Anthropic-Beta", cliBetas)
	default:
		h.Set("Authorization", "Bearer "+c.Key)
		h.Set("Anthropic-Beta", cliOAuthBetas)
	}
	return req
}

// readStream reads what the turn needs of an SSE body: the message's id
// and model, and its text.
func (t *CLITurn) readStream(body []byte) {
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		var ev struct {
			Type    string `json:"type"`
			Message struct {
				ID    string `json:"id"`
				Model string `json:"model"`
			} `json:"message"`
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if json.Unmarshal(bytes.TrimSpace(data), &ev) != nil {
			continue
		}
		switch ev.Type {
		case "message_start":
			t.MessageID, t.Model = ev.Message.ID, ev.Message.Model
		case "content_block_delta":
			text.WriteString(ev.Delta.Text)
		}
	}
	t.Text = text.String()
}

func (c *CLI) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return http.DefaultClient
}

func (c *CLI) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *CLI) wait(ctx context.Context, d time.Duration) error {
	if c.Wait != nil {
		return c.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newUUID returns a random version 4 UUID, as the CLI's session ids are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
