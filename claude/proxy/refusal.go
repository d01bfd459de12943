package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// This file makes the answers the pool gives in its own name: a 429 when no
// subscription can take the request, and (proxy_refuse.go, ratelimit.go)
// when a caller's cap is spent or the caller is over its rate limit. Each says when to come
// back in retry-after and whether a client should wait for it in
// x-should-retry, by one rule (retryHeaders), and its message says why, in
// terms a person can act on. docs/proxy.md shows what Claude Code makes of
// them.

// retryHeaders sets retry-after to wait in whole seconds, rounded up, at
// least 1, and x-should-retry to whether a client should wait that long:
// true within within, false beyond. It returns the seconds.
func retryHeaders(h http.Header, wait, within time.Duration) int64 {
	secs := waitSeconds(wait)
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	h.Set("X-Should-Retry", strconv.FormatBool(time.Duration(secs)*time.Second <= within))
	return secs
}

// waitSeconds is d in whole seconds, rounded up, at least 1.
func waitSeconds(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}

// exhaustedResponse is the Transport's own 429 when the pool has no place
// for the client: rate_limit_error, with retry-after whenever the pool
// knows when a subscription is back, x-should-retry true only when that is
// within within, and a message that says which subscriptions refuse and why
// and when the first is expected back, or that only the pool's operator can
// bring one back. It carries no anthropic-ratelimit-unified-* header: those
// speak of the caller's own usage limit, which the pool's state is not (an
// OAuth-mode Claude Code then prints "Server is temporarily limiting
// requests (not your usage limit) · <message>", which is true).
func exhaustedResponse(req *http.Request, ex *authpool.ExhaustedError, now time.Time, within time.Duration) (*http.Response, ownAnswer) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	var msg strings.Builder
	msg.WriteString("authpool: ")
	writeRefusers(&msg, ex)
	switch {
	case !ex.RetryAt.IsZero():
		secs := retryHeaders(h, ex.RetryAt.Sub(now), within)
		if time.Duration(secs)*time.Second <= within {
			fmt.Fprintf(&msg, "; the first is expected back in %s: retry then", humanWait(secs))
		} else {
			fmt.Fprintf(&msg, "; the first is expected back at %s (in %s)", clockUTC(ex.RetryAt, now), humanWait(secs))
		}
	case onlyByHand(ex):
		h.Set("X-Should-Retry", "false")
		msg.WriteString("; none comes back by itself: the pool's operator must enable a subscription or add one")
	default:
		h.Set("X-Should-Retry", "false")
		msg.WriteString("; when one frees up is not known: retry later")
	}
	return ownResponse(req, ownAnswer{refuseExhausted, msg.String()}, h)
}

// ownAnswer is a refusal the Transport answers in the pool's name, and
// why: a Proxy logs it (route.answered).
type ownAnswer struct {
	refusal refusal
	msg     string
}

// ownResponse is a response the Transport makes itself: o's status, and an
// error body of o's type saying its message. It returns o too.
func ownResponse(req *http.Request, o ownAnswer, h http.Header) (*http.Response, ownAnswer) {
	body := errorBody(o.refusal.typ, o.msg)
	return &http.Response{
		Status: strconv.Itoa(o.refusal.status) + " " + http.StatusText(o.refusal.status), StatusCode: o.refusal.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, o
}

// errorBody is an Anthropic error body (docs/claude-code.md).
func errorBody(typ, msg string) []byte {
	return fmt.Appendf(nil, `{"type":"error","error":{"type":%s,"message":%s}}`, strconv.Quote(typ), strconv.Quote(msg))
}

// refusalOrder lists the reasons a subscription takes no client, in the
// order a refusal names them: first those that pass by themselves, then
// those a person must end. Reasons not listed come after, sorted.
var refusalOrder = []authpool.Reason{
	authpool.ReasonLimited, authpool.ReasonModelLimited, authpool.ReasonBlockSpent, authpool.ReasonWeekSpent,
	authpool.ReasonDaySpent, authpool.ReasonWeeklyThreshold, authpool.ReasonFull, authpool.ReasonTried,
	authpool.ReasonDisabled, authpool.ReasonGone,
}

// writeRefusers says which subscriptions refuse and why: "the pool's 3
// subscriptions all refuse the request (2 limited, 1 disabled); its
// fallback too (daily budget spent)".
func writeRefusers(b *strings.Builder, ex *authpool.ExhaustedError) {
	n := 0
	for why, k := range ex.Reasons {
		if why != "" {
			n += k
		}
	}
	switch n {
	case 0:
		b.WriteString("the pool has no subscription to take the request")
	case 1:
		b.WriteString("the pool's one subscription refuses the request (")
	default:
		fmt.Fprintf(b, "the pool's %d subscriptions all refuse the request (", n)
	}
	if n > 0 {
		rest := make([]authpool.Reason, 0, len(ex.Reasons))
		for why := range ex.Reasons {
			if why != "" && !slices.Contains(refusalOrder, why) {
				rest = append(rest, why)
			}
		}
		slices.Sort(rest)
		first := true
		for _, why := range append(slices.Clip(refusalOrder), rest...) {
			if k := ex.Reasons[why]; k > 0 {
				if !first {
					b.WriteString(", ")
				}
				fmt.Fprintf(b, "%d %s", k, why)
				first = false
			}
		}
		b.WriteString(")")
	}
	if ex.Fallback != "" {
		fmt.Fprintf(b, "; its fallback too (%s)", ex.Fallback)
	}
}

// onlyByHand reports whether nothing refusing the request comes back by
// itself: every subscription (and the fallback) is disabled or removed.
func onlyByHand(ex *authpool.ExhaustedError) bool {
	byHand := func(why authpool.Reason) bool { return why == authpool.ReasonDisabled || why == authpool.ReasonGone }
	some := false
	for why, k := range ex.Reasons {
		if k > 0 && why != "" {
			if !byHand(why) {
				return false
			}
			some = true
		}
	}
	return (some || ex.Fallback != "") && (ex.Fallback == "" || byHand(ex.Fallback))
}

// humanWait says a wait of secs seconds as people read it: 7 s, 1 min 30 s,
// 45 min, 2 h 10 min, 3 d 4 h (minutes and hours rounded up: never early).
func humanWait(secs int64) string {
	switch {
	case secs < 60:
		return fmt.Sprintf("%d s", secs)
	case secs < 3600:
		if s := secs % 60; s != 0 {
			return fmt.Sprintf("%d min %d s", secs/60, s)
		}
		return fmt.Sprintf("%d min", secs/60)
	case secs < 48*3600:
		mins := (secs + 59) / 60
		if m := mins % 60; m != 0 {
			return fmt.Sprintf("%d h %d min", mins/60, m)
		}
		return fmt.Sprintf("%d h", mins/60)
	}
	hours := (secs + 3599) / 3600
	if h := hours % 24; h != 0 {
		return fmt.Sprintf("%d d %d h", hours/24, h)
	}
	return fmt.Sprintf("%d d", hours/24)
}

// clockUTC says when t is, to the minute (rounded up: never early), in
// UTC: 14:05 UTC, or Nov 27 14:05 UTC on another day than now.
func clockUTC(t, now time.Time) string {
	t = t.UTC()
	if t.Truncate(time.Minute) != t {
		t = t.Truncate(time.Minute).Add(time.Minute)
	}
	if y, m, d := now.UTC().Date(); t.Year() == y && t.Month() == m && t.Day() == d {
		return t.Format("15:04 UTC")
	}
	return t.Format("Jan 2 15:04 UTC")
}
