package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// maxBody bounds an admin request's body.
const maxBody = 64 << 10

// decodeBody reads r's JSON body, an object, into v (a pointer to a
// struct), refusing fields v does not have. A body that is not an object
// is refused without a field; a field that does not decode is named by its
// JSON pointer. With optional, an empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) *apiError {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, typ: typeTooLarge,
			msg: fmt.Sprintf("the body is larger than %d KiB", maxBody>>10)}
	case err != nil:
		return badInput("", "the body could not be read")
	case len(bytes.TrimSpace(data)) == 0 && optional:
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return badInput("", "the body must be a JSON object: "+syntaxProblem(err))
	}
	if strict(data, v) == nil {
		return nil
	}
	// Find the field at fault: decode each one alone.
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: top[k]})
		fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := strict(one, fresh); err != nil {
			return badInput("/"+escapePointer(k), fieldProblem(err))
		}
	}
	return badInput("", "the body does not decode") // not reached: some field fails alone
}

// strict decodes data into v, refusing unknown fields and trailing data.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

// syntaxProblem says what is wrong with a body that is not a JSON object.
func syntaxProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return "it is null"
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		return "it is " + article(te.Value)
	}
	return err.Error()
}

// fieldProblem says what is wrong with one field's value, without quoting
// it (it may be a credential).
func fieldProblem(err error) string {
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	msg := err.Error()
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("must be %s, not %s", goKind(te.Type), article(te.Value))
	case errors.As(err, &pe):
		return `must be a time in RFC 3339 form, such as "2026-12-01T15:00:00Z"`
	case strings.HasPrefix(msg, "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return "does not decode"
}

// goKind names what a Go type takes in JSON.
func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "a time in RFC 3339 form"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "an array"
	}
	return "an object"
}

// article names a JSON kind as json.UnmarshalTypeError gives it ("string",
// "number 1.5", "object") with its article.
func article(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "object", "array":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "number":
		return "a number"
	case "string":
		return "a string"
	}
	return kind
}

// escapePointer escapes a key as a JSON pointer token (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
