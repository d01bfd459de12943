// Package statuspage serves a pool's live status to people and programs: an
// http.Handler that renders the pool's Snapshot as a self-contained HTML page
// (each subscription's 5-hour block and week as bars, its health, clients,
// status, reset and exhaustion times; the fallback; the sessions; with
// WithCallers, a proxy's stored callers and their caps) that refreshes
// itself, and as JSON. The page loads nothing from anywhere (no
// script, font or image; one inline style sheet), so it works offline and
// under a strict Content-Security-Policy. It shows no credential: a Snapshot
// holds none.
package statuspage
