package configfile

import (
	_ "embed" // the config schema
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/authpool/authpool"
)

// The JSON schema of a config file, draft 2020-12.
//
//go:embed config.schema.json
var configSchemaJSON string

const configSchemaURL = "https://github.com/authpool/authpool/config.schema.json"

// compiledSchema is the config schema, compiled, with its JSON for the
// keyword values errors quote.
type compiledSchema struct {
	schema *jsonschema.Schema
	doc    any
}

// configSchema compiles the schema, once.
var configSchema = sync.OnceValues(func() (*compiledSchema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.Formats["go-duration"] = func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return true
		}
		d, err := time.ParseDuration(s)
		return err == nil && d >= 0
	}
	c.Formats["date-time"] = func(v any) bool { // as time.Time decodes it
		s, ok := v.(string)
		return !ok || new(time.Time).UnmarshalText([]byte(s)) == nil
	}
	if err := c.AddResource(configSchemaURL, strings.NewReader(configSchemaJSON)); err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	schema, err := c.Compile(configSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(configSchemaJSON))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	return &compiledSchema{schema: schema, doc: doc}, nil
})

// check validates tree against the schema and explains each failure.
func (s *compiledSchema) check(tree any) ([]problem, error) {
	err := s.schema.Validate(tree)
	if err == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, err
	}
	var probs []problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			probs = append(probs, s.explain(e, tree)...)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return probs, nil
}

// friendlier returns plainer words for a failed pattern, format or "not"
// of the schema, by the keyword and the definition (or format) it is in.
func friendlier(keyword, def string) string {
	switch keyword + " " + def {
	case "pattern duration":
		return `must be a duration such as "90s", "5m" or "1h30m"`
	case "pattern subscriptionId":
		return `must be 1 to 64 letters, digits, '.', '_' or '-'`
	case "pattern keyPrefix":
		return `must be 1 to 128 letters, digits, '.', '_', '-' or '/'`
	case "pattern text":
		return `must not hold control characters`
	case "pattern logLevel":
		return `must be a log level: "debug", "info", "warn" or "error", optionally with an offset such as "info+2"`
	case "pattern secret":
		return `must be an environment variable's name: letters, digits and '_', not starting with a digit`
	case "format go-duration":
		return `must be a duration of at most 2562047h (about 292 years)`
	case "format date-time":
		return `must be a time in RFC 3339 form, such as "2025-06-01T15:00:00Z"`
	case "not subscriptionId":
		return fmt.Sprintf("%q is reserved for the fallback", authpool.FallbackID)
	}
	return ""
}

const secretForms = `must be {"env": NAME} or {"file": PATH}`

// explain turns a failed keyword into problems at the instance's pointers.
func (s *compiledSchema) explain(e *jsonschema.ValidationError, tree any) []problem {
	at := e.InstanceLocation
	_, frag, _ := strings.Cut(e.AbsoluteKeywordLocation, "#")
	path := pointerTokens(frag)
	if len(path) == 0 {
		return []problem{{at: at, msg: e.Message}}
	}
	keyword := path[len(path)-1]
	parent, _ := lookup(s.doc, path[:len(path)-1]).(map[string]any)
	arg := parent[keyword]
	def := ""
	if len(path) >= 2 && path[0] == "$defs" {
		def = path[1]
	}
	instance := lookup(tree, pointerTokens(at))
	one := func(msg string) []problem { return []problem{{at: at, msg: msg, keyword: keyword}} }
	switch keyword {
	case "additionalProperties":
		props, _ := parent["properties"].(map[string]any)
		return unknownFields(at, instance, props)
	case "required":
		return missingFields(at, instance, arg)
	case "type":
		if def == "secret" {
			return one(secretForms + ", not " + jsonTypeName(instance))
		}
		return one("must be " + typeList(arg) + ", not " + jsonTypeName(instance))
	case "enum":
		vals, _ := arg.([]any)
		quoted := make([]string, len(vals))
		for i, v := range vals {
			b, _ := json.Marshal(v)
			quoted[i] = string(b)
		}
		got, _ := json.Marshal(instance)
		if len(got) > 64 {
			got = append(got[:61], "..."...)
		}
		return one(string(got) + ": must be " + orList(quoted))
	case "minimum":
		return one(fmt.Sprintf("must be >= %v", arg))
	case "exclusiveMinimum":
		return one(fmt.Sprintf("must be > %v", arg))
	case "maximum":
		return one(fmt.Sprintf("must be <= %v", arg))
	case "exclusiveMaximum":
		return one(fmt.Sprintf("must be < %v", arg))
	case "minLength":
		if fmt.Sprint(arg) == "1" {
			return one("must not be empty")
		}
		return one(fmt.Sprintf("must be at least %v characters long", arg))
	case "maxLength":
		return one(fmt.Sprintf("must be at most %v characters long", arg))
	case "pattern", "not":
		if msg := friendlier(keyword, def); msg != "" {
			return one(msg)
		}
	case "format":
		if msg := friendlier(keyword, fmt.Sprint(arg)); msg != "" {
			return one(msg)
		}
	case "minProperties", "maxProperties":
		if def == "secret" {
			if keyword == "maxProperties" {
				return one(`must hold "env" or "file", not both`)
			}
			return one(secretForms)
		}
	case "uniqueItems":
		var i, j int
		if _, err := fmt.Sscanf(e.Message, "items at index %d and %d are equal", &i, &j); err == nil {
			return []problem{{at: at + "/" + strconv.Itoa(j), msg: fmt.Sprintf("repeats item %d", i), keyword: keyword}}
		}
	}
	return one(e.Message)
}

// unknownFields names each field of the object instance at the pointer at
// that props does not list, with the known field it is likely a typo of.
func unknownFields(at string, instance any, props map[string]any) []problem {
	obj, _ := instance.(map[string]any)
	var probs []problem
	for key := range obj {
		if _, known := props[key]; !known {
			msg := "unknown field"
			if near := nearest(key, props); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			probs = append(probs, problem{at: at + "/" + escapePointer(key), msg: msg, keyword: "additionalProperties"})
		}
	}
	return probs
}

// missingFields names each field of required (a "required" keyword's
// value) that the object instance at the pointer at lacks.
func missingFields(at string, instance, required any) []problem {
	obj, _ := instance.(map[string]any)
	req, _ := required.([]any)
	var probs []problem
	for _, r := range req {
		name, _ := r.(string)
		if _, ok := obj[name]; !ok && obj != nil {
			probs = append(probs, problem{at: at + "/" + escapePointer(name), msg: "missing", keyword: "required"})
		}
	}
	return probs
}
