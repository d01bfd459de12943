package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/store"
)

// The admin API's callers, under adminPrefix: those kept in the store
// (store.CallerStore), which every server sharing it knows.
//
//	GET    callers             the list, by ID
//	POST   callers             add one (a callerBody): the answer holds its key, this once
//	GET    callers/{id}        one
//	PATCH  callers/{id}        change the settings given (a callerBody); not the key
//	DELETE callers/{id}        remove it, with its spending
//	GET    callers/{id}/usage  its usage report (callerreport.Report)
//
// A caller is answered as a callerView: its settings, never its key nor
// its key's hash. The config file's callers are not among them.

// callerBody is what the admin API takes of a caller, each field
// optional, named as a config file's callers name them: POST needs the ID,
// PATCH refuses it (the path names the caller).
type callerBody struct {
	ID          *string            `json:"id"`
	CapUSD      *float64           `json:"capUSD"`
	CapWindow   *string            `json:"capWindow"`
	Rate        *proxy.RateLimit   `json:"rate"`
	Sessionless *proxy.Sessionless `json:"sessionless"`
	// Key is refused: the server makes a caller's key.
	Key json.RawMessage `json:"key"`
}

// callerView is a caller as the admin API shows it: its record without its
// key's hash, the defaults of its cap window and sessionless mode filled
// in.
type callerView struct {
	ID          string            `json:"id"`
	CapUSD      float64           `json:"capUSD"`
	CapWindow   authpool.Duration `json:"capWindow"`
	Rate        *proxy.RateLimit  `json:"rate,omitempty"`
	Sessionless proxy.Sessionless `json:"sessionless"`
	Created     time.Time         `json:"created"`
	// LargestChargeUSD is the largest charge of one request, what the
	// store counts each request in flight at under the cap.
	LargestChargeUSD float64 `json:"largestChargeUSD,omitempty"`
}

// callersAPI serves callers[/{id}[/usage]], path the parts after
// "callers".
func (a *admin) callersAPI(w http.ResponseWriter, r *http.Request, path []string) *apiError {
	if a.callers.store == nil {
		return &apiError{status: http.StatusNotImplemented, typ: typeAPI,
			msg: "this server's store keeps no callers (it is not a store.CallerStore): its callers are the config file's"}
	}
	switch {
	case len(path) == 0 && r.Method == http.MethodGet:
		return a.listCallers(w, r)
	case len(path) == 0 && r.Method == http.MethodPost:
		return a.addCaller(w, r)
	case len(path) == 0:
		return methods(w, r, http.MethodGet, http.MethodPost)
	case store.CheckCallerID(path[0]) != nil:
		return a.noCaller(path[0])
	case len(path) == 2 && path[1] != "usage":
		return &apiError{status: http.StatusNotFound, typ: typeNotFound,
			msg: fmt.Sprintf("%q is not an action on a caller: usage is", clip(path[1]))}
	case len(path) == 2 && r.Method != http.MethodGet:
		return methods(w, r, http.MethodGet)
	case len(path) == 2:
		return a.callerUsage(w, r, path[0])
	}
	switch r.Method {
	case http.MethodGet:
		return a.answerCaller(w, r, http.StatusOK, path[0])
	case http.MethodPatch:
		return a.updateCaller(w, r, path[0])
	case http.MethodDelete:
		if err := a.callers.store.DeleteCaller(r.Context(), path[0]); err != nil {
			return a.callerFailed(r, "remove a caller", path[0], err)
		}
		a.audit(r, "caller removed", slog.String("caller", path[0]))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methods(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)
}

func (a *admin) listCallers(w http.ResponseWriter, r *http.Request) *apiError {
	recs, err := a.callers.store.Callers(r.Context())
	if err != nil {
		return a.callerFailed(r, "list callers", "", err)
	}
	views := make([]callerView, len(recs))
	for i, rec := range recs {
		views[i] = callerViewOf(rec)
	}
	writeJSON(w, http.StatusOK, struct {
		Callers []callerView `json:"callers"`
	}{views})
	return nil
}

// addCaller makes a caller and its key, keeps the key's hash, and answers
// the key this once.
func (a *admin) addCaller(w http.ResponseWriter, r *http.Request) *apiError {
	var body callerBody
	if e := decodeBody(w, r, &body, false); e != nil {
		return e
	}
	var c proxy.Caller
	if body.ID != nil {
		c.ID = *body.ID
	}
	if e := body.apply(&c); e != nil {
		return e
	}
	if e := checkCaller(c); e != nil {
		return e
	}
	if a.fileIDs[c.ID] {
		return &apiError{status: http.StatusConflict, typ: typeInvalid, field: "/id",
			msg: fmt.Sprintf("/id: %q is a caller of the config file: choose another ID", c.ID)}
	}
	key, err := proxy.NewCallerKey()
	if err != nil {
		return a.callerFailed(r, "make a caller's key", c.ID, err)
	}
	rec := recordOf(c)
	rec.KeyHash, rec.Created = proxy.HashCallerKey(key.Reveal()), a.now().UTC()
	if err := a.callers.store.CreateCaller(r.Context(), rec); err != nil {
		return a.callerFailed(r, "add a caller", c.ID, err)
	}
	a.audit(r, "caller added", slog.String("caller", c.ID))
	w.Header().Set("Location", adminPrefix+"callers/"+c.ID)
	writeJSON(w, http.StatusCreated, struct {
		Caller callerView `json:"caller"`
		Key    string     `json:"key"`
	}{callerViewOf(rec), key.Reveal()}) // the one place a key is revealed
	return nil
}

// updateCaller changes the settings the body gives, keeping the others: the
// body is checked against the caller as it is now, and the store changes
// only the settings given, so that two PATCHes of different settings at
// the same time both land.
func (a *admin) updateCaller(w http.ResponseWriter, r *http.Request, id string) *apiError {
	var body callerBody
	if e := decodeBody(w, r, &body, false); e != nil {
		return e
	}
	if body.ID != nil {
		return badInput("/id", "/id: the path names the caller, whose ID does not change")
	}
	if body.CapUSD == nil && body.CapWindow == nil && body.Rate == nil && body.Sessionless == nil && body.Key == nil {
		return badInput("", "nothing to change: give capUSD, capWindow, rate or sessionless")
	}
	rec, err := a.callers.store.Caller(r.Context(), id)
	if err != nil {
		return a.callerFailed(r, "read a caller", id, err)
	}
	c := settingsOf(rec)
	if e := body.apply(&c); e != nil {
		return e
	}
	if e := checkCaller(c); e != nil {
		return e
	}
	if err := a.callers.store.UpdateCaller(r.Context(), id, body.update(recordOf(c))); err != nil {
		return a.callerFailed(r, "update a caller", id, err)
	}
	a.audit(r, "caller updated", slog.String("caller", id))
	return a.answerCaller(w, r, http.StatusOK, id)
}

func (a *admin) callerUsage(w http.ResponseWriter, r *http.Request, id string) *apiError {
	rep, err := a.callers.report.Report(r.Context(), id)
	if err != nil {
		return a.callerFailed(r, "report a caller's usage", id, err)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// answerCaller writes caller id as the store has it now.
func (a *admin) answerCaller(w http.ResponseWriter, r *http.Request, status int, id string) *apiError {
	rec, err := a.callers.store.Caller(r.Context(), id)
	if err != nil {
		return a.callerFailed(r, "read a caller", id, err)
	}
	writeJSON(w, status, callerViewOf(rec))
	return nil
}

// apply sets on c the settings b gives.
func (b callerBody) apply(c *proxy.Caller) *apiError {
	if b.Key != nil {
		return badInput("/key", "the server makes a caller's key, shown once when the caller is added: "+
			"to give a caller a new key, remove it and add it again")
	}
	if b.CapUSD != nil {
		c.CapUSD = *b.CapUSD
	}
	if b.CapWindow != nil {
		d, err := time.ParseDuration(*b.CapWindow)
		if err != nil {
			return badInput("/capWindow", `/capWindow: not a duration: must be whole hours, up to a week, such as "5h"`)
		}
		c.CapWindow = authpool.Duration(d)
	}
	if b.Rate != nil {
		rate := *b.Rate
		c.Rate = &rate // {} (no rate) is kept as none: the caller has no limit of its own
	}
	if b.Sessionless != nil {
		c.Sessionless = *b.Sessionless
	}
	return nil
}

// update returns the store's update of the settings b gives, their values
// taken from rec, the caller as b makes it (b.apply, checkCaller).
func (b callerBody) update(rec store.Caller) store.CallerUpdate {
	var u store.CallerUpdate
	if b.CapUSD != nil {
		u.Cap = &rec.Cap
	}
	if b.CapWindow != nil {
		u.CapWindowHours = &rec.CapWindowHours
	}
	if b.Rate != nil {
		u.Rate = &store.CallerRate{PerSecond: rec.RatePerSecond, Burst: rec.RateBurst}
	}
	if b.Sessionless != nil {
		u.Sessionless = &rec.Sessionless
	}
	return u
}

// checkCaller names every problem of c, as proxy.ValidateCallers names a
// config file's callers' (by JSON pointer from the caller), with the
// store's rule for IDs. As everywhere in the admin API, a string refused
// is not quoted back (it may be a credential pasted in the wrong place).
func checkCaller(c proxy.Caller) *apiError {
	var problems []error
	if msg := idProblem(c.ID); msg != "" {
		problems = append(problems, errors.New("/id: "+msg))
	}
	var ce *authpool.ConfigError
	if errors.As(proxy.ValidateCallerSettings(c), &ce) {
		for _, p := range ce.Problems {
			switch msg := p.Error(); {
			case strings.HasPrefix(msg, "/id:"): // the store's rule, above, is the stricter
			case strings.HasPrefix(msg, "/sessionless:"): // it quotes the value
				problems = append(problems, fmt.Errorf("/sessionless: must be %q or %q", proxy.SessionlessSticky, proxy.SessionlessSpread))
			default:
				problems = append(problems, p)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return configError(&authpool.ConfigError{Source: "caller", Problems: problems})
}

// idProblem says what is wrong with a caller ID by the store's rule
// (store.CheckCallerID), without quoting it (an ID refused may be
// anything pasted in the wrong place); "" when it is fine.
func idProblem(id string) string {
	switch {
	case store.CheckCallerID(id) == nil:
		return ""
	case id == "":
		return "empty: name the caller"
	case len(id) > store.MaxCallerID:
		return fmt.Sprintf("%d bytes long: at most %d", len(id), store.MaxCallerID)
	}
	i := strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
	return fmt.Sprintf("byte %d is not a letter, digit, '.', '_' or '-'", max(i, 0))
}

// settingsOf returns a stored caller's settings as a proxy.Caller (its
// cap window 0 when the record leaves it to the default).
func settingsOf(rec store.Caller) proxy.Caller {
	c := proxy.Caller{ID: rec.ID, CapUSD: rec.Cap.USD(), CapWindow: authpool.Duration(time.Duration(rec.CapWindowHours) * time.Hour),
		Sessionless: proxy.Sessionless(rec.Sessionless)}
	if rec.RatePerSecond > 0 {
		c.Rate = &proxy.RateLimit{PerSecond: rec.RatePerSecond, Burst: rec.RateBurst}
	}
	return c
}

// recordOf returns c, which checkCaller has passed, as a record (without
// its key's hash and time).
func recordOf(c proxy.Caller) store.Caller {
	capND, _ := store.FromUSD(c.CapUSD) // checked: in 0..MaxUSD
	rec := store.Caller{ID: c.ID, Cap: capND, CapWindowHours: int(time.Duration(c.CapWindow) / time.Hour),
		Sessionless: string(c.Sessionless)}
	if c.Rate != nil && c.Rate.PerSecond > 0 {
		rec.RatePerSecond, rec.RateBurst = c.Rate.PerSecond, c.Rate.Burst
	}
	return rec
}

// callerViewOf returns a stored caller as the admin API shows it.
func callerViewOf(rec store.Caller) callerView {
	c := settingsOf(rec)
	v := callerView{ID: rec.ID, CapUSD: c.CapUSD, CapWindow: c.CapWindow, Rate: c.Rate, Sessionless: c.Sessionless,
		Created: rec.Created.UTC(), LargestChargeUSD: rec.LargestCharge.USD()}
	if v.CapWindow == 0 {
		v.CapWindow = authpool.Duration(callerreport.DefaultCapWindowHours * time.Hour)
	}
	if v.Sessionless == "" {
		v.Sessionless = proxy.SessionlessSticky
	}
	return v
}

// noCaller answers that the store has no caller id, saying so when id is
// one of the config file's.
func (a *admin) noCaller(id string) *apiError {
	msg := fmt.Sprintf("no caller %q in the store", clip(id))
	if a.fileIDs[id] {
		msg += ": it is a caller of the config file, changed there"
	}
	return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: msg}
}

// callerFailed answers what the callers' store refused or failed, logging
// a failure that is the server's (a 5xx) with its error.
func (a *admin) callerFailed(r *http.Request, op, id string, err error) *apiError {
	var e *apiError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return a.noCaller(id)
	case errors.Is(err, store.ErrExists):
		return &apiError{status: http.StatusConflict, typ: typeInvalid, field: "/id",
			msg: fmt.Sprintf("/id: %q: a caller with this ID exists already", clip(id))}
	case errors.Is(err, store.ErrInvalid):
		return badInput("", strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		e = &apiError{status: http.StatusServiceUnavailable, typ: typeOverloaded,
			msg: "the callers' store is unavailable: try again shortly"}
	default:
		e = &apiError{status: http.StatusInternalServerError, typ: typeAPI, msg: "the callers' store failed: the server's log says why"}
	}
	a.log.LogAttrs(r.Context(), slog.LevelError, "admin: "+op+" failed", slog.String("caller", id), slog.String("error", err.Error()))
	return e
}

// fileIDs returns the IDs of a config file's callers.
func fileIDs(callers []proxy.Caller) map[string]bool {
	ids := make(map[string]bool, len(callers))
	for _, c := range callers {
		ids[c.ID] = true
	}
	return ids
}
