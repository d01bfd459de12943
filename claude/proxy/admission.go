package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// This file holds a request to its caller's cap: in this process for the
// callers a Proxy is given (capLedger), through the store for those it
// finds there (StoreCallers). An admission is what the request holds
// while it is served.

// CapBusyRetryAfter is the retry-after of a Proxy's 429 to a caller whose
// cap is nearly spent while other requests of its are in flight: by then
// some have ended, and what they cost is known.
const CapBusyRetryAfter = 5 * time.Second

var (
	refuseCapBusy = refusal{"cap-busy", "caller near its cap with requests in flight", 429, "rate_limit_error", slog.LevelInfo}
	// refuseCallersDown and refuseCallersFailed are the store's refusals,
	// logged as the pool's store's are.
	refuseCallersDown   = refusal{"callers-store-unavailable", "the callers' store is unavailable", 503, "api_error", slog.LevelError}
	refuseCallersFailed = refusal{"callers-store-failed", "the callers' store failed", 500, "api_error", slog.LevelError}
)

// admission is a request's place under its caller's cap while it is
// served: what it is told of the cap, what its usage is charged to, and
// the lease it releases when it ends.
type admission struct {
	p       *Proxy
	caller  Caller
	stored  *StoreCallers // nil for a caller of Proxy.Callers or Identify
	session string        // the Claude Code session, for the store's report
	ctx     context.Context
	st      standing // a stored capped caller's, at admission
	capped  bool     // st is set
	lease   string   // "" when none is held
	once    sync.Once
}

// admit admits the request of who under its cap, or answers it (429 when
// the cap is spent, or nearly with requests in flight; 503 or 500 when the
// callers' store fails) and returns false.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request, who identity) (*admission, bool) {
	now := p.Transport.now()
	a := &admission{p: p, caller: who.caller, ctx: context.WithoutCancel(r.Context())}
	if !who.stored {
		if st, ok := p.caps.standing(who.caller, now); ok && st.share >= 1 {
			p.capped(w, r, who.caller, st, now)
			return nil, false
		}
		return a, true
	}
	a.stored = p.Stored
	if s := r.Header.Get("X-Claude-Code-Session-Id"); len(s) <= 128 && bounds.CheckText("session", s, true) == nil {
		a.session = s // else the request counts in the caller's session ""
	}
	budget := who.rec.Cap
	if budget <= 0 {
		return a, true
	}
	hours := int(capHours(who.caller))
	adm, err := p.Stored.Store.AdmitCaller(r.Context(), who.caller.ID, now, budget, hours, p.Stored.lease())
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Removed from the store since this proxy remembered it.
		w.Header().Set("X-Should-Retry", "false")
		p.refuse(w, r, refuseUnknownKey, "", "authpool proxy: unknown key: this caller was removed")
		return nil, false
	case err != nil:
		p.callerStoreError(w, r, who.caller.ID, err)
		return nil, false
	}
	st := standing{used: adm.Used, budget: budget, share: float64(adm.Used) / float64(budget),
		window: time.Duration(hours) * time.Hour, reset: adm.Reset}
	if st.reset.IsZero() {
		st.reset = now.Add(st.window)
	}
	switch {
	case !adm.Admitted && adm.Used >= budget:
		p.capped(w, r, who.caller, st, now)
		return nil, false
	case !adm.Admitted:
		p.capBusy(w, r, who.caller, st, adm.InFlight)
		return nil, false
	}
	a.st, a.capped, a.lease = st, true, adm.LeaseID
	return a, true
}

// lease returns the store's lease of an admitted request.
func (s *StoreCallers) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultCallerLease
}

// standing returns the caller's standing against its cap at now, to tell
// it in the response's headers; false for a caller without a cap.
func (a *admission) standing(now time.Time) (standing, bool) {
	if a.stored == nil {
		return a.p.caps.standing(a.caller, now)
	}
	return a.st, a.capped
}

// spent returns what counts a response's usage for the caller (nil when
// nothing does): its cap in this process, or a charge in the store.
func (a *admission) spent() func(authpool.Usage) {
	switch {
	case a.stored != nil:
		return a.charge
	case a.caller.CapUSD > 0:
		return func(u authpool.Usage) { a.p.caps.add(a.caller.ID, u.Time, u.CostUSD) }
	}
	return nil
}

// charge counts a response's usage for a stored caller, under its message
// id, and then releases its lease: its cost is counted, so the request no
// longer counts as in flight (and the next request of a caller that waits
// for this one's end is judged by it). A failure is logged: the response
// has gone to the caller already.
func (a *admission) charge(u authpool.Usage) {
	defer a.release()
	cost, err := store.FromUSD(u.CostUSD)
	if err != nil {
		cost = 0 // a usage the pool refuses too; its tokens still count
	}
	s := a.stored
	c := store.Charge{UsageID: u.ID, At: u.Time, Cost: cost, Session: a.session, Now: a.p.Transport.now(),
		Tokens: u.Tokens, Remember: cmpOr(s.Remember, DefaultCallerRemember), RememberBytes: cmpOr(s.RememberBytes, DefaultCallerRememberBytes)}
	ctx, cancel := context.WithTimeout(a.ctx, storeCallTimeout)
	defer cancel()
	if _, err := s.Store.ChargeCaller(ctx, a.caller.ID, c); err != nil {
		a.p.log.LogAttrs(ctx, slog.LevelWarn, "authpool proxy: charging a caller's usage failed",
			slog.String("caller", a.caller.ID), slog.String("usage", u.ID), slog.String("error", safetext.Clip(err.Error(), 1024)))
	}
}

// storeCallTimeout bounds the store calls a request makes after its
// caller may have gone: charging its usage, releasing its lease.
const storeCallTimeout = 10 * time.Second

// cmpOr returns v, or def when v is not positive.
func cmpOr[T int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// release ends the request's lease, if it holds one, once. A failure is
// logged: the lease ends by itself.
func (a *admission) release() {
	if a.lease != "" {
		a.once.Do(a.releaseLease)
	}
}

func (a *admission) releaseLease() {
	ctx, cancel := context.WithTimeout(a.ctx, storeCallTimeout)
	defer cancel()
	if err := a.stored.Store.ReleaseCaller(ctx, a.caller.ID, a.lease); err != nil {
		a.p.log.LogAttrs(ctx, slog.LevelWarn, "authpool proxy: releasing a caller's request failed; its lease ends by itself",
			slog.String("caller", a.caller.ID), slog.String("error", safetext.Clip(err.Error(), 1024)))
	}
}

// capBusy answers a caller near its cap while inFlight of its requests
// are in flight: 429 rate_limit_error with its standing and a short
// retry-after, by when some will have ended and their cost be known.
func (p *Proxy) capBusy(w http.ResponseWriter, r *http.Request, c Caller, st standing, inFlight int) {
	st.headers(w.Header())
	secs := retryHeaders(w.Header(), CapBusyRetryAfter, p.Transport.retryWithin())
	p.refuse(w, r, refuseCapBusy, c.ID, fmt.Sprintf(
		"authpool: you have used %.0f%% of your $%s cap for %s and %d of your requests are in flight: retry in %s",
		100*st.share, dollars(c.CapUSD), humanWait(int64(st.window/time.Second)), inFlight, humanWait(secs)))
}

// callerStoreError answers a request whose caller could not be found, or
// admitted, because the callers' store failed: 503 with retry-after when it
// is unavailable, else 500. Nothing was sent upstream.
func (p *Proxy) callerStoreError(w http.ResponseWriter, r *http.Request, callerID string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller went away
	}
	why := slog.String("error", safetext.Clip(err.Error(), 1024))
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		retryHeaders(w.Header(), StoreRetryAfter, StoreRetryAfter)
		p.refuse(w, r, refuseCallersDown, callerID, fmt.Sprintf(
			"authpool proxy: the callers' store is unavailable, so the request could not be checked: retry in %s", humanWait(waitSeconds(StoreRetryAfter))), why)
		return
	}
	w.Header().Set("X-Should-Retry", "false")
	p.refuse(w, r, refuseCallersFailed, callerID,
		"authpool proxy: the callers' store failed, and the request was not sent: the pool's operator must look into it", why)
}
