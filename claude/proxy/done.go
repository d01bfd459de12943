package proxy

import (
	"net/http"
	"time"

	"github.com/authpool/authpool"
)

// Done is what a Proxy tells its OnDone of one request it served, for a
// request log: who sent it, where it went, what it used and how long the
// upstream took. It holds no key, credential or prompt. The status of the
// answer is what the handler wrote: a server that logs it wraps the
// ResponseWriter (keeping http.ResponseController's Unwrap).
type Done struct {
	// Caller is the caller's ID; "" when the request's key was unknown or
	// missing.
	Caller string
	// Session is the request's X-Claude-Code-Session-Id when the proxy
	// used it (at most 128 bytes of printable text); "" otherwise.
	Session string
	// Client is the pool's client the request was placed for (the caller,
	// caller/session, or a spread request's own); "" when it was refused
	// before.
	Client string
	// Model is the model the request's body names; "" when it names none.
	Model string
	// Subscription is the subscription the request was last sent on; ""
	// when it was not sent (refused by the proxy or the pool).
	Subscription string
	// Attempts counts the subscriptions it was sent to: more than 1 when it
	// failed over.
	Attempts int
	// Usage is what the response used, as recorded (tokens, cost, model,
	// subscription); nil when nothing was recorded (an error, count_tokens,
	// a stream cut before its message_start). A stream cut later is
	// recorded as far as it went: message_start's usage, at least.
	Usage *authpool.Usage
	// Upstream is the time from the first send to the last upstream
	// answer's header (fail-overs and the pool's choice included); 0 when
	// it was not sent.
	Upstream time.Duration

	sent time.Time // the first send, on the monotonic clock
}

// starting returns the Done of a request from callerID, or nil when the
// proxy has no OnDone.
func (p *Proxy) starting(callerID string) *Done {
	if p.OnDone == nil {
		return nil
	}
	return &Done{Caller: callerID}
}

// finish hands d to OnDone; a nil d is nothing to hand.
func (p *Proxy) finish(r *http.Request, d *Done) {
	if d != nil {
		p.OnDone(r, *d)
	}
}

// routed notes the route a request takes, and the session it named.
func (d *Done) routed(rt *route, session string) {
	if d != nil {
		d.Client, d.Model = rt.client, rt.model
		d.Session = session // "" when unusable (usableSession)
	}
}

// noting returns spent, which counts a response's recorded usage for the
// caller (nil: nothing does), extended to keep the usage for d. Nil when
// there is nothing to do.
func (d *Done) noting(spent func(authpool.Usage)) func(authpool.Usage) {
	if d == nil {
		return spent
	}
	return func(u authpool.Usage) {
		if spent != nil {
			spent(u)
		}
		d.Usage = &u
	}
}

// sending notes that the Transport sends the request on subscription id;
// a nil route (the Transport used alone) notes nothing.
func (r *route) sending(id string) {
	if r == nil || r.done == nil {
		return
	}
	d := r.done
	if d.Attempts == 0 {
		d.sent = time.Now()
	}
	d.Subscription = id
	d.Attempts++
}

// heard notes that the upstream's answer (or failure) came.
func (r *route) heard() {
	if r != nil && r.done != nil && !r.done.sent.IsZero() {
		r.done.Upstream = time.Since(r.done.sent)
	}
}
