package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// pageWriteTimeout bounds the writing of a page (status, metrics, admin
// answers): small answers of a known size. The proxy bounds its own writes.
const pageWriteTimeout = 10 * time.Second

// readyTimeout bounds /readyz's call to the store.
const readyTimeout = 2 * time.Second

// routes returns the server's handler: the proxy behind the request log,
// the pages behind their tokens, the probes, and a JSON 404 for the rest.
func (s *Server) routes(proxied, status, metrics, admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", proxied)
	mux.Handle("/status", s.page(s.statusAllowed, status))
	mux.Handle("/metrics", s.page(s.statusAllowed, metrics))
	mux.Handle(adminPrefix, s.page(s.adminAllowed, admin))
	mux.Handle("/healthz", s.page(nil, http.HandlerFunc(s.healthz)))
	mux.Handle("/readyz", s.page(nil, http.HandlerFunc(s.readyz)))
	mux.Handle("/", s.page(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: fmt.Sprintf(
			"%s is not served here: /v1/messages, /status, /metrics, /healthz, /readyz and /admin/v1/ are", clip(r.URL.Path))})
	})))
	return s.tracked(mux)
}

// tracked counts the requests in flight, so that Serve can wait for every
// handler to end, even after cutting connections.
func (s *Server) tracked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		next.ServeHTTP(w, r)
	})
}

// page serves next with a write deadline of its own, to callers allow lets
// in (nil: everyone).
func (s *Server) page(allow func(r *http.Request) *apiError, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(pageWriteTimeout))
		if allow != nil {
			if e := allow(r); e != nil {
				if e.status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="authpool"`)
				}
				writeError(w, e)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// adminAllowed lets in a bearer of the admin token.
func (s *Server) adminAllowed(r *http.Request) *apiError {
	if s.adminToken == nil {
		return &apiError{status: http.StatusForbidden, typ: typePermission,
			msg: "the admin API is off: set server.adminToken in the config file"}
	}
	if !s.adminToken.matches(bearer(r)) {
		return &apiError{status: http.StatusUnauthorized, typ: typeAuth,
			msg: "the admin API needs the admin token as Authorization: Bearer <token>"}
	}
	return nil
}

// statusAllowed lets everyone in when the status is public, else a bearer
// of the status token or of the admin token.
func (s *Server) statusAllowed(r *http.Request) *apiError {
	if s.cfg.PublicStatus {
		return nil
	}
	if s.statusToken == nil && s.adminToken == nil {
		return &apiError{status: http.StatusForbidden, typ: typePermission,
			msg: "the status is closed: set server.statusToken, or server.publicStatus, in the config file"}
	}
	got := bearer(r)
	if !s.statusToken.matches(got) && !s.adminToken.matches(got) {
		return &apiError{status: http.StatusUnauthorized, typ: typeAuth,
			msg: "the status needs the status token as Authorization: Bearer <token>"}
	}
	return nil
}

// token is a bearer token the server checks, kept as its SHA-256: a
// comparison in constant time whatever the lengths.
type token [sha256.Size]byte

// newToken returns c's token, or nil when c is empty.
func newToken(c authpool.Credential) *token {
	if c == "" {
		return nil
	}
	t := token(sha256.Sum256([]byte(c.Reveal())))
	return &t
}

// matches reports, in constant time, whether got is the token; a nil token
// matches nothing.
func (t *token) matches(got string) bool {
	if t == nil || got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], t[:]) == 1
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// healthz answers that the server is alive.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers whether the server takes requests: not when it is
// stopping, nor when its store does not answer a cheap read within
// readyTimeout.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, typ: typeOverloaded, msg: "the server is stopping"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if _, err := s.store.Subscription(ctx, authpool.FallbackID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(r.Context(), "readyz: the store does not answer", "error", err.Error())
		writeError(w, &apiError{status: http.StatusServiceUnavailable, typ: typeOverloaded, msg: "the pool's store does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
