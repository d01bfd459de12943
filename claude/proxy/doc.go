// Package proxy sends Claude requests through an authpool pool over HTTP:
// Proxy is a drop-in base URL for Claude Code and the Anthropic SDKs, each
// caller with its own key; Transport is the http.RoundTripper under it,
// usable alone in your own http.Client.
//
//	t := &proxy.Transport{Pool: p}
//	px, err := proxy.New(t, file.Callers, proxy.DefaultUpstream) // a configfile.File's
//	srv := &http.Server{Addr: "127.0.0.1:8787", Handler: px, ReadHeaderTimeout: 10 * time.Second}
//
//	client := &http.Client{Transport: t} // alone: the client is proxy.WithClient's
//	resp, err := client.Do(req.WithContext(proxy.WithClient(ctx, "alice")))
//
// # Guarantees
//
// Each request is sent with the credential of the subscription the pool
// allocates its client (whatever the caller sent), its usage is recorded
// under its message id when its body has been read, and a failure is told
// to the pool (claude.Classify, claude.Apply). A failure that takes a
// subscription out of service is sent again on another, up to MaxAttempts,
// when the body can be sent again. When no subscription can serve, the
// answer is the pool's own 429 saying why and when to retry. A Proxy's
// caller over its rate limit (Caller.Rate, else Proxy.DefaultRate) gets a
// 429 too, before the pool is asked for a subscription. No
// credential, caller key or prompt reaches a caller, a log, an event or
// the store. Times are the pool's clock unless Transport.Clock says
// otherwise.
//
// The Proxy hands each request's route (its caller, client and model) to
// the Transport explicitly; the Transport used alone finds its client in
// the request (WithClient, or Transport.ClientHeader).
//
// A Proxy's callers are given to it (Callers, from a config file), or kept
// in a store that several proxies share (Stored, a StoreCallers: known by
// their key's hash, their usage counted in the store, their caps held
// across the proxies; docs/callers.md), or both. NewCallerKey makes a
// caller's key, HashCallerKey what the store keeps of it.
//
// docs/claude.md shows how to serve it; docs/proxy.md what it answers in
// every case, and what Claude Code shows for it.
package proxy
