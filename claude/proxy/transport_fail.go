package proxy

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file is what the Transport does with an answer that failed: what it
// tells the pool, and what of it the caller gets.

// drain reads what is left of an abandoned answer's body (up to
// maxErrorBody, so that its connection may be used again) and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// fail classifies a failed response and tells the pool, with red's secrets
// taken out of what the upstream said (see failedBody), and gives the
// response the body its caller gets.
func (t *Transport) fail(ctx context.Context, red safetext.Redactor, subscriptionID string, resp *http.Response, model string) claude.Verdict {
	body, whole := failedBody(red, resp)
	now := t.now()
	v := claude.Classify(resp.StatusCode, resp.Header, body, now).Redacted(red.String)
	if !whole {
		body = errorBody(cmp.Or(v.ErrorType, statusErrorType(resp.StatusCode)), cmp.Or(v.ErrorMessage,
			fmt.Sprintf("authpool: the upstream's answer (HTTP %d) had a body that cannot be passed on", resp.StatusCode)))
		resp.Header.Del("Content-Encoding")
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(bytes.NewReader(body)) // the upstream's answer, read whole
	actx, cancel := afterCaller(ctx)
	defer cancel()
	if err := claude.Apply(actx, t.Pool, subscriptionID, v, model, now); err != nil {
		t.log().LogAttrs(ctx, slog.LevelWarn, "claude: telling the pool of a failed response failed",
			slog.String("subscription", subscriptionID), slog.Int("status", resp.StatusCode), slog.String("error", safetext.Clip(red.String(err.Error()), 1024)))
	}
	return v
}

// afterCaller returns ctx without its cancellation, bounded by
// storeCallTimeout: what the upstream said of a subscription reaches the
// pool even when the caller has gone as the answer arrived.
func afterCaller(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), storeCallTimeout)
}

// failedBody reads a failed response's body, closes it, and returns it with
// red's secrets taken out, and whether it is whole: read to its end within
// maxErrorBody, and not encoded (a Content-Encoding the base transport did
// not undo hides what it says). A body that is not whole is not passed on.
func failedBody(red safetext.Redactor, resp *http.Response) ([]byte, bool) {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	resp.Body.Close()
	enc := resp.Header.Get("Content-Encoding")
	if err != nil || len(head) > maxErrorBody || enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, false
	}
	return red.Bytes(head), true
}

// statusErrorType is the Anthropic error type of a status, for an answer
// whose body does not say (docs/formats.md §2.3).
func statusErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == 529:
		return "overloaded_error"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

// requestRedactor is what redacts an upstream's words about req, sent with
// the credential cred: cred, and the caller's key — the one a Proxy
// identified it by (and every caller's it knows), else what req carries as
// x-api-key or bearer token before the Transport replaces it.
func requestRedactor(req *http.Request, rt *route, cred string) safetext.Redactor {
	if rt != nil {
		return rt.redact.With(cred, rt.key)
	}
	return safetext.NewRedactor(cred, req.Header.Get("X-Api-Key"), bearerToken(req.Header))
}

// bearerToken is the token of an Authorization: Bearer header, or "".
func bearerToken(h http.Header) string {
	if auth := h.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// poolError is the error of a request the pool could not place for a
// reason of its own: its store unavailable (store.ErrUnavailable) or
// refusing, the pool closed. Its Unwrap gives the pool's error.
type poolError struct{ err error }

func (e *poolError) Error() string { return e.err.Error() }
func (e *poolError) Unwrap() error { return e.err }
