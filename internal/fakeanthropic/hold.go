package fakeanthropic

import (
	"context"
	"sync"
)

// Hold pauses streams before an event until the test releases them: set a
// Response's BeforeEvent to its Wait. Every stream that reaches the event
// waits there (or until its request ends) until Release; Reached is closed
// when the first one gets there, after everything before the event was
// flushed. A Hold is safe for concurrent use.
type Hold struct {
	event       string
	reached     chan struct{}
	release     chan struct{}
	reachOnce   sync.Once
	releaseOnce sync.Once
}

// NewHold returns a Hold before the event named event (message_stop,
// message_delta, ...).
func NewHold(event string) *Hold {
	return &Hold{event: event, reached: make(chan struct{}), release: make(chan struct{})}
}

// Wait is a Response.BeforeEvent hook: before h's event, it closes Reached
// and waits for Release or for ctx to end.
func (h *Hold) Wait(ctx context.Context, event string) {
	if event != h.event {
		return
	}
	h.reachOnce.Do(func() { close(h.reached) })
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// Reached returns a channel closed when a stream first reaches the event.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Release lets the held streams, and all later ones, go on. It may be
// called more than once.
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }
