package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/authpool/authpool"
)

// The admin API's subscriptions, under adminPrefix (its callers are in
// admin_callers.go):
//
//	GET    subscriptions                  the list
//	POST   subscriptions                  add one (an authpool.Subscription)
//	GET    subscriptions/{id}             one
//	PATCH  subscriptions/{id}             change the fields given (an authpool.SubscriptionUpdate)
//	DELETE subscriptions/{id}             remove it; its sessions are released
//	POST   subscriptions/{id}/disable     out of service until enabled ({"reason": ...}, optional)
//	POST   subscriptions/{id}/enable      back in service
//	PUT    subscriptions/{id}/credential  a new login: an authpool.Token {access, refresh, expiresAt}
//
// Subscriptions are answered as authpool.Subscription's JSON, whose
// credential and refresh token show as [REDACTED].
const adminPrefix = "/admin/v1/"

// admin serves the admin API; its caller is authenticated already.
type admin struct {
	pool    *authpool.Pool
	log     *slog.Logger
	now     func() time.Time
	callers storedCallers   // the store's callers (admin_callers.go)
	fileIDs map[string]bool // the IDs of the config file's callers
}

// ServeHTTP routes an admin request by its path and method.
func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, _ := strings.CutPrefix(r.URL.Path, adminPrefix)
	parts := strings.Split(rest, "/")
	var e *apiError
	switch {
	case len(parts) > 3 || slices.Contains(parts[1:], ""):
		e = notAdmin(r)
	case parts[0] == "subscriptions":
		e = a.subscriptions(w, r, parts[1:])
	case parts[0] == "callers":
		e = a.callersAPI(w, r, parts[1:])
	default:
		e = notAdmin(r)
	}
	if e != nil {
		writeError(w, e)
	}
}

func notAdmin(r *http.Request) *apiError {
	return &apiError{status: http.StatusNotFound, typ: typeNotFound,
		msg: fmt.Sprintf("%s is not an admin endpoint: see docs/server.md", clip(r.URL.Path))}
}

// subscriptions serves subscriptions[/{id}[/{action}]], path the parts
// after "subscriptions".
func (a *admin) subscriptions(w http.ResponseWriter, r *http.Request, path []string) *apiError {
	switch len(path) {
	case 0:
		return a.collection(w, r)
	case 1:
		return a.one(w, r, path[0])
	}
	return a.action(w, r, path[0], path[1])
}

// methods answers 405 naming the methods a path takes.
func methods(w http.ResponseWriter, r *http.Request, allowed ...string) *apiError {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return &apiError{status: http.StatusMethodNotAllowed, typ: typeInvalid,
		msg: fmt.Sprintf("%s %s: use %s", clip(r.Method), clip(r.URL.Path), strings.Join(allowed, " or "))}
}

func (a *admin) collection(w http.ResponseWriter, r *http.Request) *apiError {
	switch r.Method {
	case http.MethodGet:
		subs, err := a.pool.Subscriptions(r.Context())
		if err != nil {
			return a.failed(r, "list subscriptions", err)
		}
		views := make([]subscriptionView, len(subs))
		for i, sub := range subs {
			views[i] = view(sub)
		}
		writeJSON(w, http.StatusOK, struct {
			Subscriptions []subscriptionView `json:"subscriptions"`
		}{views})
		return nil
	case http.MethodPost:
		var s authpool.Subscription
		if e := decodeBody(w, r, &s, false); e != nil {
			return e
		}
		if e := pastedBack(field{"/credential", &s.Credential}, field{"/refreshToken", &s.RefreshToken}); e != nil {
			return e
		}
		if err := a.pool.AddSubscription(r.Context(), s); err != nil {
			return a.failed(r, "add a subscription", err)
		}
		a.audit(r, "subscription added", slog.String("subscription", s.ID))
		w.Header().Set("Location", adminPrefix+"subscriptions/"+s.ID)
		return a.answer(w, r, http.StatusCreated, s.ID)
	}
	return methods(w, r, http.MethodGet, http.MethodPost)
}

func (a *admin) one(w http.ResponseWriter, r *http.Request, id string) *apiError {
	switch r.Method {
	case http.MethodGet:
		return a.answer(w, r, http.StatusOK, id)
	case http.MethodPatch:
		var u authpool.SubscriptionUpdate
		if e := decodeBody(w, r, &u, false); e != nil {
			return e
		}
		if e := pastedBack(field{"/credential", u.Credential}, field{"/refreshToken", u.RefreshToken}); e != nil {
			return e
		}
		if err := a.pool.UpdateSubscription(r.Context(), id, u); err != nil {
			return a.failed(r, "update a subscription", err)
		}
		a.audit(r, "subscription updated", slog.String("subscription", id))
		return a.answer(w, r, http.StatusOK, id)
	case http.MethodDelete:
		released, err := a.pool.RemoveSubscription(r.Context(), id)
		if err != nil {
			return a.failed(r, "remove a subscription", err)
		}
		a.audit(r, "subscription removed", slog.String("subscription", id), slog.Int("released", len(released)))
		if released == nil {
			released = []authpool.SessionStatus{}
		}
		writeJSON(w, http.StatusOK, struct {
			Removed  string                   `json:"removed"`
			Released []authpool.SessionStatus `json:"released"`
		}{id, released})
		return nil
	}
	return methods(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)
}

func (a *admin) action(w http.ResponseWriter, r *http.Request, id, what string) *apiError {
	want := map[string]string{"disable": http.MethodPost, "enable": http.MethodPost, "credential": http.MethodPut}[what]
	switch {
	case want == "":
		return &apiError{status: http.StatusNotFound, typ: typeNotFound,
			msg: fmt.Sprintf("%q is not an action on a subscription: disable, enable or credential", clip(what))}
	case r.Method != want:
		return methods(w, r, want)
	case id == authpool.FallbackID:
		// The admin API does not serve the fallback (the list and GET leave
		// it out): changing it here would answer 404 after the change.
		return badInput("", fmt.Sprintf("%q is the config file's fallback, which the admin API does not change: change the file's fallback", id))
	}
	var err error
	switch what {
	case "disable":
		var body struct {
			Reason string `json:"reason"`
		}
		if e := decodeBody(w, r, &body, true); e != nil {
			return e
		}
		err = a.pool.Disable(r.Context(), id, body.Reason)
	case "enable":
		var body struct{}
		if e := decodeBody(w, r, &body, true); e != nil {
			return e
		}
		err = a.pool.Enable(r.Context(), id)
	case "credential":
		var t authpool.Token
		if e := decodeBody(w, r, &t, false); e != nil {
			return e
		}
		if e := checkToken(t); e != nil {
			return e
		}
		err = a.pool.UpdateCredential(r.Context(), id, t)
	}
	if err != nil {
		return a.failed(r, what+" a subscription", err)
	}
	a.audit(r, "subscription "+map[string]string{"disable": "disabled", "enable": "enabled", "credential": "logged in"}[what], slog.String("subscription", id))
	return a.answer(w, r, http.StatusOK, id)
}

// checkToken names the field of a token the pool would refuse, without its
// value.
func checkToken(t authpool.Token) *apiError {
	if e := pastedBack(field{"/access", &t.Access}, field{"/refresh", &t.Refresh}); e != nil {
		return e
	}
	for _, f := range []struct {
		field    string
		v        authpool.Credential
		required bool
	}{{"/access", t.Access, true}, {"/refresh", t.Refresh, false}} {
		switch {
		case f.v == "" && f.required:
			return badInput(f.field, "missing: the access token of the login")
		case strings.ContainsFunc(f.v.Reveal(), unicode.IsControl):
			return badInput(f.field, "holds a control character or a line break")
		}
	}
	return nil
}

// field is a credential of a request's body and its JSON pointer.
type field struct {
	at string
	v  *authpool.Credential // nil: not given
}

// pastedBack refuses a credential that is the form the answers show every
// credential in ("[REDACTED]"): an answer pasted back into a request, which
// would store a credential that only fails upstream.
func pastedBack(fields ...field) *apiError {
	for _, f := range fields {
		if f.v != nil && *f.v != "" && f.v.Reveal() == f.v.String() {
			return badInput(f.at, "is "+f.v.String()+", how the admin API shows a credential: give the credential itself")
		}
	}
	return nil
}

// answer writes subscription id as the pool has it now.
func (a *admin) answer(w http.ResponseWriter, r *http.Request, status int, id string) *apiError {
	subs, err := a.pool.Subscriptions(r.Context())
	if err != nil {
		return a.failed(r, "read the subscription", err)
	}
	i := slices.IndexFunc(subs, func(s authpool.Subscription) bool { return s.ID == id })
	if i < 0 {
		return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: fmt.Sprintf("no subscription %q", clip(id))}
	}
	writeJSON(w, status, view(subs[i]))
	return nil
}

// subscriptionView is a subscription as the admin API shows it: its JSON,
// credentials redacted, with its status always (an active one too).
type subscriptionView struct {
	authpool.Subscription
	Status authpool.Status `json:"status"`
}

func view(s authpool.Subscription) subscriptionView {
	return subscriptionView{Subscription: s, Status: s.Status}
}

// failed answers what the pool refused or failed, logging a failure that is
// the server's (a 5xx) with its error.
func (a *admin) failed(r *http.Request, op string, err error) *apiError {
	e := poolError(err)
	if e.status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "admin: "+op+" failed", slog.String("error", err.Error()))
	}
	return e
}

// audit logs a change made through the admin API to who (a subscription
// or a caller, by ID).
func (a *admin) audit(r *http.Request, what string, who slog.Attr, attrs ...slog.Attr) {
	a.log.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelInfo, "admin: "+what,
		append([]slog.Attr{who, slog.String("remote", r.RemoteAddr)}, attrs...)...)
}

// clip bounds a value of the request quoted in an answer.
func clip(s string) string {
	if len(s) <= 100 {
		return s
	}
	return s[:97] + "..."
}
