package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// apiError is an error answer: its status, its type (Anthropic's error
// types), what went wrong and, for bad input, the field at fault as a JSON
// pointer into the request's body.
type apiError struct {
	status int
	typ    string
	msg    string
	field  string
}

// The error types the server answers with (Anthropic's).
const (
	typeInvalid    = "invalid_request_error"
	typeAuth       = "authentication_error"
	typePermission = "permission_error"
	typeNotFound   = "not_found_error"
	typeTooLarge   = "request_too_large"
	typeAPI        = "api_error"
	typeOverloaded = "overloaded_error"
)

func badInput(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typeInvalid, msg: msg, field: field}
}

// errorJSON is the one shape of every error the server's own endpoints
// answer: Anthropic's, with the field at fault.
type errorJSON struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// writeError answers e in the server's error shape.
func writeError(w http.ResponseWriter, e *apiError) {
	var body errorJSON
	body.Type = "error"
	body.Error.Type, body.Error.Message, body.Error.Field = e.typ, e.msg, e.field
	writeJSON(w, e.status, body)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"type":"error","error":{"type":"api_error","message":"the answer could not be encoded"}}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// poolError turns what the pool returned for an admin call into an answer:
// bad input (a *ConfigError names its fields by JSON pointer) is 400, an
// unknown subscription 404, a taken ID 409, an unavailable store or a
// closed pool 503, anything else 500 (which the caller logs). The pool's
// messages hold no secret.
func poolError(err error) *apiError {
	var ce *authpool.ConfigError
	switch {
	case errors.As(err, &ce):
		return configError(ce)
	case errors.Is(err, authpool.ErrNotFound):
		return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: err.Error()}
	case errors.Is(err, authpool.ErrExists):
		return &apiError{status: http.StatusConflict, typ: typeInvalid, msg: err.Error(), field: "/id"}
	case errors.Is(err, authpool.ErrInvalidArgument):
		return badInput("", err.Error())
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, authpool.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, typ: typeOverloaded,
			msg: "the pool's store is unavailable or the server is stopping: try again shortly"}
	}
	return &apiError{status: http.StatusInternalServerError, typ: typeAPI, msg: "the pool failed: the server's log says why"}
}

// configError answers a *ConfigError: every problem in the message, the
// first one's pointer as the field.
func configError(ce *authpool.ConfigError) *apiError {
	msgs := make([]string, len(ce.Problems))
	field := ""
	for i, p := range ce.Problems {
		msgs[i] = p.Error()
		if at, _, ok := strings.Cut(msgs[i], ": "); ok && i == 0 && strings.HasPrefix(at, "/") {
			field = at
		}
	}
	return badInput(field, strings.Join(msgs, "; "))
}
