package proxy

import (
	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// route is what a Proxy tells its Transport about a request, in one context
// value: whom it is for and what it asks.
type route struct {
	client string          // the pool's client: the caller, or the caller and its session
	model  string          // the model the body names, or ""
	caller authpool.Caller // the caller, whose cap the response is told against
	spent  func(authpool.Usage)
	key    string            // the key the caller was identified by
	redact safetext.Redactor // the proxy's: every caller's key (see requestRedactor)
}

// routeKey keys a *route in a request's context.
type routeKey struct{}
