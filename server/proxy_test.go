package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// sdk returns an official SDK client of the server that sends key, without
// retries, and the session header when session is set.
func sdk(h *harness, key, session string) anthropic.Client {
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(), option.WithBaseURL(h.url), option.WithAPIKey(key), option.WithMaxRetries(0),
	}
	if session != "" {
		opts = append(opts, option.WithHeader("X-Claude-Code-Session-Id", session))
	}
	return anthropic.NewClient(opts...)
}

var sdkParams = anthropic.MessageNewParams{
	Model:     anthropic.Model(testModel),
	MaxTokens: 64,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(testPrompt))},
}

// requestLine is the part of a request log line a test can predict.
type requestLine struct {
	Path, Caller, Session, Subscription, Model string
	Status, Attempts                           float64
	Tokens                                     map[string]any
	Priced, Timed                              bool
}

func requestLines(t *testing.T, h *harness) []requestLine {
	t.Helper()
	var out []requestLine
	for _, l := range h.logs.lines(t, "request") {
		cost, _ := l["costUSD"].(float64)
		up, _ := l["upstreamMs"].(float64)
		total, _ := l["totalMs"].(float64)
		out = append(out, requestLine{Path: l["path"].(string), Caller: l["caller"].(string), Session: l["session"].(string),
			Subscription: l["subscription"].(string), Model: l["model"].(string), Status: l["status"].(float64),
			Attempts: l["attempts"].(float64), Tokens: l["tokens"].(map[string]any), Priced: cost > 0,
			Timed: total > 0 && up <= total})
	}
	return out
}

// TestProxyThroughServer sends a message and a stream with the official SDK
// through the server, and an unknown key: each is answered as the proxy
// answers and logged as one JSON line with its caller, session,
// subscription, model, status, tokens, cost and times.
func TestProxyThroughServer(t *testing.T) {
	h := start(t, setup{})
	if err := h.srv.Pool().Disable(t.Context(), "api-b", "out of the way"); err != nil {
		t.Fatal(err)
	}
	alice := sdk(h, keyAlice, "s-1")
	msg, err := alice.Messages.New(t.Context(), sdkParams)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.OutputTokens != fakeanthropic.DefaultUsage.Output {
		t.Errorf("output tokens %d, want %d", msg.Usage.OutputTokens, fakeanthropic.DefaultUsage.Output)
	}
	bob := sdk(h, keyBob, "")
	stream := bob.Messages.NewStreaming(t.Context(), sdkParams)
	events := 0
	for stream.Next() {
		events++
	}
	if err := stream.Err(); err != nil || events == 0 {
		t.Fatalf("stream: %d events, %v", events, err)
	}
	stream.Close()
	nobody := sdk(h, "caller-key-nobody-0123456789abcd", "")
	_, err = nobody.Messages.New(t.Context(), sdkParams)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("an unknown key: %v, want a 401", err)
	}
	tokens := map[string]any{"input": float64(fakeanthropic.DefaultUsage.Input), "output": float64(fakeanthropic.DefaultUsage.Output),
		"cacheWrite": float64(fakeanthropic.DefaultUsage.CacheWrite()), "cacheRead": float64(fakeanthropic.DefaultUsage.CacheRead)}
	none := map[string]any{"input": 0.0, "output": 0.0, "cacheWrite": 0.0, "cacheRead": 0.0}
	want := []requestLine{
		{Path: "/v1/messages", Caller: "alice", Session: "s-1", Subscription: "max-a", Model: testModel, Status: 200, Attempts: 1,
			Tokens: tokens, Priced: true, Timed: true},
		{Path: "/v1/messages", Caller: "bob", Subscription: "max-a", Model: testModel, Status: 200, Attempts: 1,
			Tokens: tokens, Priced: true, Timed: true},
		{Path: "/v1/messages", Status: 401, Tokens: none, Timed: true},
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(requestLines(t, h)) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the last line is written just after the answer
	}
	if diff := cmp.Diff(want, requestLines(t, h)); diff != "" {
		t.Errorf("the request log (-want +got):\n%s", diff)
	}
	snap, err := h.srv.Pool().Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Subscriptions[1].Week.Requests != 2 {
		t.Errorf("max-a counted %d requests, want 2", snap.Subscriptions[1].Week.Requests)
	}
}

// TestShutdownMidStream: a stream in flight when the server is told to
// stop ends cleanly, its usage recorded and logged; meanwhile the server
// takes no new connection, and Serve returns nil once the stream is done.
func TestShutdownMidStream(t *testing.T) {
	hold := fakeanthropic.NewHold("message_stop")
	up := &fakeanthropic.Server{}
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = hold.Wait
	up.SetDefault(resp)
	h := start(t, setup{up: up})
	client := sdk(h, keyAlice, "s-1")
	stream := client.Messages.NewStreaming(t.Context(), sdkParams)
	type result struct {
		types []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for stream.Next() {
			r.types = append(r.types, string(stream.Current().Type))
		}
		r.err = stream.Err()
		done <- r
	}()
	select {
	case <-hold.Reached():
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not reach message_stop")
	}
	h.cancel()
	waitFor(t, "the server to stop accepting", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(h.url, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-h.done:
		t.Fatalf("Serve returned %v with a stream in flight", err)
	default:
	}
	hold.Release()
	r := <-done
	if r.err != nil || len(r.types) == 0 || r.types[len(r.types)-1] != "message_stop" {
		t.Fatalf("the stream: %v, %v; want it to end with message_stop", r.types, r.err)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
		close(h.done)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return once the stream ended")
	}
	lines := requestLines(t, h)
	if len(lines) != 1 || lines[0].Status != 200 || !lines[0].Priced {
		t.Errorf("the request log: %+v, want one priced 200", lines)
	}
}

// TestShutdownGraceCuts: a stream still going when the grace ends is cut,
// and Serve still returns nil, every handler ended.
func TestShutdownGraceCuts(t *testing.T) {
	hold := fakeanthropic.NewHold("message_stop")
	up := &fakeanthropic.Server{}
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = hold.Wait
	up.SetDefault(resp)
	defer hold.Release()
	h := start(t, setup{up: up, edit: func(f *configfile.File) { f.Server.ShutdownGrace = 1 }})
	client := sdk(h, keyAlice, "")
	stream := client.Messages.NewStreaming(t.Context(), sdkParams)
	go func() {
		for stream.Next() {
		}
	}()
	<-hold.Reached()
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Serve took %v to return after a grace of 1ns", d)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestServeLeavesNoGoroutine: once Serve returns, no goroutine runs the
// server's code (its loops, its handlers).
func TestServeLeavesNoGoroutine(t *testing.T) {
	h := start(t, setup{edit: func(f *configfile.File) {
		f.Server.UsagePoll.Off = false
		f.Server.RebalanceEvery = authpool.Duration(time.Second)
	}})
	client := sdk(h, keyAlice, "")
	if _, err := client.Messages.New(t.Context(), sdkParams); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatalf("Serve = %v", err)
	}
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 2); err != nil {
		t.Fatal(err)
	}
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "authpool/server.(*") && !strings.Contains(g, "TestServeLeavesNoGoroutine") {
			t.Errorf("a goroutine runs the server's code after Serve returned:\n%s", g)
		}
	}
}
