package server

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// maxBody bounds an admin request's body.
const maxBody = 64 << 10

// decodeBody reads r's JSON body, an object, into v (a pointer to a
// struct), refusing fields v does not have, in another case too ("capUsd"
// for "capUSD": encoding/json would take it). A body that is not an object
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
		if at, ok := inexactKey(data, reflect.TypeOf(v), ""); ok {
			return badInput(at, fmt.Sprintf("unknown field %q (names are case-sensitive)", at[strings.LastIndexByte(at, '/')+1:]))
		}
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
			return badInput(pointerTo(k, err), fieldProblem(err))
		}
	}
	return badInput("", "the body does not decode") // not reached: some field fails alone
}

// inexactKey returns the pointer of the first key of data, a JSON object
// that decodes into t, that is not exactly the JSON name of one of t's
// fields, looking into the objects of struct-typed fields too (not into
// maps, slices, or types that decode themselves).
func inexactKey(data []byte, t reflect.Type, at string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "", false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return "", false
	}
	fields := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-" || f.Anonymous && name == "":
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	keys := slices.Sorted(maps.Keys(obj))
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return at + "/" + escapePointer(k), true
		}
		if p, bad := inexactKey(obj[k], ft, at+"/"+escapePointer(k)); bad {
			return p, true
		}
	}
	return "", false
}

// pointerTo returns the JSON pointer of the field at fault in top-level
// field key: the value within it that has the wrong type, when err says
// which ("rate.perSecond": "/rate/perSecond"), else the field.
func pointerTo(key string, err error) string {
	at := "/" + escapePointer(key)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return at
	}
	rest, ok := strings.CutPrefix(te.Field, key+".")
	if !ok {
		return at
	}
	for _, k := range strings.Split(rest, ".") {
		at += "/" + escapePointer(k)
	}
	return at
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
