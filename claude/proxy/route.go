package proxy

import (
	"net/http"
	"sync/atomic"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// route is what a Proxy tells its Transport about a request, handed to
// Transport.roundTrip with the request (Proxy.serve): whom it is for and
// what it asks. The Transport writes back two things: the refusal it
// answered in the pool's name, if it did, and that the upstream's body
// ended.
type route struct {
	client string // the pool's client: the caller, or the caller and its session
	model  string // the model the body names, or ""
	caller Caller // the caller, whose cap the response is told against
	spent  func(authpool.Usage)
	adm    *admission        // its place under the caller's cap
	key    string            // the key the caller was identified by
	redact safetext.Redactor // the proxy's: every caller's key (see requestRedactor)
	own    ownAnswer         // the Transport's own refusal, when owned
	owned  bool
	done   *Done       // what OnDone is told; nil without one
	ended  atomic.Bool // the upstream's body has been read to its end (answerWriter)
}

// answered notes that the Transport answered the request itself, with o;
// a nil route (the Transport used alone) notes nothing.
func (r *route) answered(o ownAnswer) {
	if r != nil {
		r.own, r.owned = o, true
	}
}

// routed is the Transport with a Proxy's route for one request: the
// RoundTripper of the ReverseProxy that sends it (Proxy.serve).
type routed struct {
	t  *Transport
	rt *route
}

// RoundTrip implements http.RoundTripper.
func (r routed) RoundTrip(req *http.Request) (*http.Response, error) { return r.t.roundTrip(req, r.rt) }

// serve sends r on through the Transport with its route, handed over
// explicitly: r gets a ReverseProxy of its own, p's with a RoundTripper
// (routed), a ModifyResponse and an ErrorHandler that know the route.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, rt *route) {
	rp := *p.proxy
	rp.Transport = routed{p.Transport, rt}
	rp.ModifyResponse = func(resp *http.Response) error { return p.modifyResponse(resp, rt) }
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		rt.heard()
		p.upstreamError(w, r, rt.caller.ID, err)
	}
	rp.ServeHTTP(w, r)
}
