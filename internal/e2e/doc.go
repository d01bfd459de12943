// Package e2e holds the end-to-end test of `authpool serve`: it builds the
// authpool command, runs it as real processes on loopback against the fake
// Anthropic upstream (internal/fakeanthropic) and the fake OAuth and usage
// server (internal/fakeoauth), logs a subscription in with `authpool login`,
// sends requests with the official Go SDK and as Claude Code does, reads the
// status, metrics and probes, adds callers through the admin API and holds
// one to its cap, and stops the processes with SIGTERM in the middle of a
// stream: with the in-memory store, and with two processes
// sharing one Redis (internal/redistest says how tests find it).
//
// The package has no code of its own; `go test ./internal/e2e` runs it.
package e2e
