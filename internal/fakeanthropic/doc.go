// Package fakeanthropic is a fake Anthropic upstream for tests and load
// programs: an http.Handler that speaks the Messages API as docs/formats.md §2
// describes it (POST /v1/messages as JSON or as an SSE stream, POST
// /v1/messages/count_tokens, Anthropic's error bodies and rate-limit
// headers).
//
// [Server] answers each request with a [Response] chosen per credential (the
// x-api-key value, else the bearer token) or by a hook, and records every
// request it received, so a test can make subscription A answer a quota 429
// and subscription B a 200, then check which credential each request
// carried. Ready-made responses cover the cases the pool tells apart: [OK],
// [OKUnified], [Quota429], [ModelQuota429], [Throttle429], [Headerless429],
// [Overloaded529] and [Unauthorized401]. A [Hold] pauses a stream between
// two events, so a test can see that the first event reached the client
// before the last one was sent.
//
// [CLI] is the other side: a client that sends requests as Claude Code
// 2.1.332 does (one streamed POST /v1/messages?beta=true per turn, a new
// session id per run, the default model of its auth mode) and retries and
// prints what that release does (docs/claude-code.md), so tests of a proxy
// see what a real user of Claude Code would.
//
// [Instant] is the benchmark upstream: a small message and a small stream
// prepared once and written without allocating.
//
// Wrap either in httptest.NewServer, or serve it on loopback:
//
//	now := time.Now()
//	srv := &fakeanthropic.Server{}
//	srv.Set("key-a", fakeanthropic.Quota429(now, now.Add(2*time.Hour)))
//	srv.Set("key-b", fakeanthropic.OK(fakeanthropic.DefaultUsage))
//	ts := httptest.NewServer(srv)
//	defer ts.Close()
package fakeanthropic
