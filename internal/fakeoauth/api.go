package fakeoauth

import (
	"net/http"
	"strings"
)

// serveUsage answers the usage endpoint for a live token with the
// user:profile scope and the oauth beta.
func (s *Server) serveUsage(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authorized(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	body, set := s.usage[tok]
	if !set {
		body = s.defUsage
	}
	s.done[UsagePath]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// profile answers the profile endpoint with the Options' account and
// organization.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorized(w, r); !ok {
		return
	}
	s.mu.Lock()
	s.done[ProfilePath]++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"account": map[string]string{"uuid": s.opts.AccountUUID, "email": s.opts.Email},
		"organization": map[string]string{
			"uuid": s.opts.OrganizationUUID, "name": s.opts.OrganizationName,
			"organization_type": s.opts.OrganizationType,
		},
	})
}

// authorized checks a GET to the API with a live bearer token that has the
// user:profile scope and the oauth beta, answering Anthropic's error
// objects when not; it returns the token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodGet {
		apiError(w, http.StatusMethodNotAllowed, "invalid_request_error", "GET only")
		return "", false
	}
	if !hasBeta(r, OAuthBeta) {
		apiError(w, http.StatusUnauthorized, "authentication_error", "OAuth authentication is currently not supported.")
		return "", false
	}
	tok := bearer(r)
	s.mu.Lock()
	g := s.access[tok]
	live := g != nil && !s.opts.Now().After(g.expires)
	s.mu.Unlock()
	switch {
	case !live:
		apiError(w, http.StatusUnauthorized, "authentication_error", "Invalid bearer token")
		return "", false
	case !hasScope(g.scopes, ScopeProfile):
		apiError(w, http.StatusForbidden, "permission_error", "OAuth token does not meet scope requirement user:profile")
		return "", false
	}
	return tok, true
}

// hasBeta reports whether the request's anthropic-beta headers list beta.
func hasBeta(r *http.Request, beta string) bool {
	for _, line := range r.Header.Values("anthropic-beta") {
		for _, b := range strings.Split(line, ",") {
			if strings.TrimSpace(b) == beta {
				return true
			}
		}
	}
	return false
}

// apiError writes an Anthropic error object.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
}
