// Package server is `authpool serve`: the server a team runs in front of a
// pool of Claude subscriptions, a thin layer over the library. New builds,
// from a config file (configfile.File, its "server" section), the store (in
// memory, or Redis with credentials sealed), the pool with the OAuth
// refresher of claude/oauth, the proxy of claude/proxy (the config file's
// callers, and those the admin API keeps in the store, proxy.StoreCallers),
// the status page and the Prometheus metrics (both with the stored callers'
// usage, callerreport); Serve serves them on one listener until its context
// ends:
//
//	POST /v1/messages, /v1/messages/count_tokens   the proxy (callers' keys)
//	GET  /status, /metrics                        the status token, unless publicStatus
//	GET  /healthz, /readyz                        alive; the store answers
//	     /admin/v1/subscriptions[/{id}[/...]]     the admin token
//	     /admin/v1/callers[/{id}[/usage]]         the admin token
//
// Besides the requests, it calls Pool.Rebalance (which refreshes the OAuth
// tokens about to expire) every rebalanceEvery, and reads Claude's usage
// endpoint for the subscriptions no response has reported on lately, once
// across the servers sharing the store. It logs one JSON line per proxied
// request (caller, session, subscription, model, status, tokens, cost,
// upstream and total time), never a key, a credential or a prompt. When its
// context ends it stops accepting, lets the requests in flight (streams
// included) finish within shutdownGrace, closes the pool (delivering its
// queued notifications) and returns nil.
//
// Every error answer of the server's own endpoints (the admin API, a token
// refused, the probes, a path not served) is one JSON shape, Anthropic's
// with the field at fault; the status page answers its own errors (a
// method, a format) as one line of text/plain:
//
//	{"type":"error","error":{"type":"invalid_request_error","message":"...","field":"/weeklyBudgetUSD"}}
//
// docs/server.md shows how to run it, every endpoint and the admin API.
package server
