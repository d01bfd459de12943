package fakeoauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// codeTTL is how long an authorization code can be exchanged.
const codeTTL = 10 * time.Minute

// authorize checks an authorization request as Claude's authorize page
// does, then "logs the user in": it answers code#state as the copy-paste
// page shows it, or redirects to a loopback redirect URI with code and
// state in the query.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	for _, want := range []struct{ k, v string }{
		{"code", "true"}, {"client_id", s.opts.ClientID}, {"response_type", "code"}, {"code_challenge_method", "S256"},
	} {
		if q.Get(want.k) != want.v {
			http.Error(w, fmt.Sprintf("%s must be %q", want.k, want.v), http.StatusBadRequest)
			return
		}
	}
	for _, k := range []string{"redirect_uri", "scope", "code_challenge", "state"} {
		if q.Get(k) == "" {
			http.Error(w, k+" is missing", http.StatusBadRequest)
			return
		}
	}
	if b, err := base64.RawURLEncoding.DecodeString(q.Get("code_challenge")); err != nil || len(b) != sha256.Size {
		http.Error(w, "code_challenge is not a base64url SHA-256", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "redirect_uri is not an absolute URL", http.StatusBadRequest)
		return
	}
	code := "fakecode-" + randomHex()
	s.mu.Lock()
	s.codes[code] = &pending{
		challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		scopes: strings.Fields(q.Get("scope")), expires: s.opts.Now().Add(codeTTL),
	}
	s.done[AuthorizePath]++
	s.mu.Unlock()
	if ip := net.ParseIP(redirect.Hostname()); redirect.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
		v := redirect.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s#%s\n", code, q.Get("state"))
}

// tokenRequest is a JSON body of the token endpoint.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	ClientID     string `json:"client_id"`
	CodeVerifier string `json:"code_verifier"`
	State        string `json:"state"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// token answers the token endpoint: JSON bodies only, as Claude's.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be JSON")
		return
	}
	var req tokenRequest
	if err := json.Unmarshal(body, &req); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a JSON object of strings")
		return
	}
	if req.ClientID != s.opts.ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		l      Login
		status int
		code   string
		desc   string
	)
	switch req.GrantType {
	case "authorization_code":
		l, status, code, desc = s.exchange(req)
	case "refresh_token":
		l, status, code, desc = s.refreshGrant(req)
	default:
		status, code, desc = http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
	}
	if status != http.StatusOK {
		oauthError(w, status, code, desc)
		return
	}
	s.done[TokenPath]++
	if req.GrantType == "refresh_token" {
		s.done["refresh"]++
	}
	s.writeLogin(w, l)
}

// exchange checks an authorization_code grant and issues its tokens. mu
// must be held.
func (s *Server) exchange(req tokenRequest) (Login, int, string, string) {
	p := s.codes[req.Code]
	if p == nil || s.opts.Now().After(p.expires) {
		return Login{}, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code"
	}
	delete(s.codes, req.Code) // a code is used once, even by a failed exchange
	sum := sha256.Sum256([]byte(req.CodeVerifier))
	switch {
	case req.RedirectURI != p.redirectURI:
		return Login{}, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's"
	case base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge:
		return Login{}, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge"
	case req.State != p.state:
		return Login{}, http.StatusBadRequest, "invalid_request", "state differs from the authorization request's"
	}
	return s.issue(p.scopes, true, s.opts.AccessTTL), http.StatusOK, "", ""
}

// refreshGrant checks a refresh_token grant, uses the refresh token up
// (unless KeepRefreshToken) and issues new tokens. mu must be held.
func (s *Server) refreshGrant(req tokenRequest) (Login, int, string, string) {
	g := s.refresh[req.RefreshToken]
	if g == nil || s.opts.Now().After(g.expires) {
		return Login{}, http.StatusBadRequest, "invalid_grant", "Refresh token not found or invalid"
	}
	scopes := g.scopes
	if req.Scope != "" {
		scopes = strings.Fields(req.Scope)
		for _, sc := range scopes {
			if !hasScope(g.scopes, sc) {
				return Login{}, http.StatusBadRequest, "invalid_scope", "scope " + sc + " was not granted"
			}
		}
	}
	if s.opts.KeepRefreshToken {
		l := s.issue(scopes, false, s.opts.AccessTTL)
		return l, http.StatusOK, "", ""
	}
	delete(s.refresh, req.RefreshToken)
	return s.issue(scopes, true, s.opts.AccessTTL), http.StatusOK, "", ""
}

// writeLogin writes a token answer. mu must be held.
func (s *Server) writeLogin(w http.ResponseWriter, l Login) {
	now := s.opts.Now()
	ans := map[string]any{
		"token_type":   "Bearer",
		"access_token": l.AccessToken,
		"expires_in":   math.Round(l.ExpiresAt.Sub(now).Seconds()),
		"scope":        strings.Join(l.Scopes, " "),
		"account":      map[string]string{"uuid": s.opts.AccountUUID, "email_address": s.opts.Email},
		"organization": map[string]string{"uuid": s.opts.OrganizationUUID, "name": s.opts.OrganizationName},
	}
	if l.RefreshToken != "" {
		ans["refresh_token"] = l.RefreshToken
		if !s.opts.OmitRefreshTTL {
			ans["refresh_token_expires_in"] = math.Round(l.RefreshExpiresAt.Sub(now).Seconds())
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// oauthError writes an OAuth error answer (RFC 6749 §5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// writeJSON writes v as a JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
